//! `homecoming.v1.CategoryService`.

use homecoming_proto::v1::{self as pb, category_service_server::CategoryService};
use tonic::{Request, Response, Status};

use super::{Rpc, convert, create_input, etag, list_query, update_input};
use crate::domain::parse_id;

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
                let (fields, request_id) =
                    create_input(&r.request_id, "category", r.category, convert::new_category)?;
                let created = cx
                    .store
                    .validating(r.validate_only)
                    .create_category(fields, request_id)
                    .await?;
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
                let u = update_input("category", r.category, convert::category_in, r.update_mask)?;
                let updated = cx
                    .store
                    .validating(r.validate_only)
                    .update_category(&u.id, u.etag.as_deref(), &u.fields, &u.mask)
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
