//! `homecoming.v1.CategoryService`.

use homecoming_proto::v1::{self as pb, category_service_server::CategoryService};
use tonic::{Request, Response, Status};

use super::{Rpc, check, convert, etag, list_query, mask_paths, required, structural, validated};
use crate::domain::{Violations, parse_id, parse_request_id};

pub struct CategoryApi {
    rpc: Rpc,
}

impl CategoryApi {
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }
}

#[tonic::async_trait]
impl CategoryService for CategoryApi {
    async fn create_category(
        &self,
        request: Request<pb::CreateCategoryRequest>,
    ) -> Result<Response<pb::Category>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::CreateCategoryRequest {
                    category,
                    request_id,
                } = r;
                let mut v = Violations::new();
                let request_id =
                    check(&mut v, parse_request_id("request_id", &request_id)).flatten();
                let fields = check(
                    &mut v,
                    required("category", category).and_then(|r| {
                        let (incoming, v) = convert::category_in(r);
                        validated(
                            v,
                            incoming
                                .fields
                                .validate()
                                .map_err(|e| e.prefixed("category")),
                        )
                    }),
                );
                let fields = v.finish(fields)?.unwrap_or_default();
                let created = cx.store.create_category(fields, request_id).await?;
                Ok(convert::category_out(created))
            })
            .await
    }

    async fn get_category(
        &self,
        request: Request<pb::GetCategoryRequest>,
    ) -> Result<Response<pb::Category>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                Ok(convert::category_out(cx.store.get_category(&id).await?))
            })
            .await
    }

    async fn list_categories(
        &self,
        request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::ListCategoriesRequest {
                    page_size,
                    page_token,
                    filter,
                    order_by,
                } = r;
                let page = cx
                    .store
                    .list_categories(&list_query(page_size, page_token, filter, order_by))
                    .await?;
                Ok(pb::ListCategoriesResponse {
                    categories: page.items.into_iter().map(convert::category_out).collect(),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                    revision: page.revision,
                })
            })
            .await
    }

    async fn update_category(
        &self,
        request: Request<pb::UpdateCategoryRequest>,
    ) -> Result<Response<pb::Category>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::UpdateCategoryRequest {
                    category,
                    update_mask,
                } = r;
                let (incoming, v) = convert::category_in(required("category", category)?);
                structural(v)?;
                let id = parse_id("category.id", &incoming.id)?;
                let updated = cx
                    .store
                    .update_category(
                        &id,
                        etag(&incoming.etag),
                        &incoming.fields,
                        &mask_paths(update_mask),
                    )
                    .await?;
                Ok(convert::category_out(updated))
            })
            .await
    }

    async fn delete_category(
        &self,
        request: Request<pb::DeleteCategoryRequest>,
    ) -> Result<Response<()>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                cx.store.delete_category(&id, etag(&r.etag)).await
            })
            .await
    }
}
