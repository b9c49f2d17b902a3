//! `homecoming.v1.CategoryService`.

use homecoming_proto::v1::{self as pb, category_service_server::CategoryService};
use tonic::{Request, Response, Status};

use super::{
    audited, auth, check, convert, etag, list_query, mask_paths, required, structural, validated,
};
use crate::{
    audit::AuditLog,
    domain::{Violations, parse_id, parse_request_id},
    store::Store,
};

pub struct CategoryApi {
    store: Store,
    audit: AuditLog,
}

impl CategoryApi {
    pub fn new(store: Store, audit: AuditLog) -> Self {
        Self { store, audit }
    }
}

#[tonic::async_trait]
impl CategoryService for CategoryApi {
    async fn create_category(
        &self,
        request: Request<pb::CreateCategoryRequest>,
    ) -> Result<Response<pb::Category>, Status> {
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let pb::CreateCategoryRequest {
            category,
            request_id,
        } = request.into_inner();
        let requested = Vec::new();
        let result = async {
            let mut v = Violations::new();
            let request_id = check(&mut v, parse_request_id("request_id", &request_id)).flatten();
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
            let created = store.create_category(fields, request_id).await?;
            Ok(convert::category_out(created))
        }
        .await;
        audited(&self.audit, &call, requested, result, |c| {
            vec![c.id.clone()]
        })
        .await
        .map(Response::new)
    }

    async fn get_category(
        &self,
        request: Request<pb::GetCategoryRequest>,
    ) -> Result<Response<pb::Category>, Status> {
        let id = parse_id("id", &request.into_inner().id)?;
        let found = self.store.get_category(&id).await?;
        Ok(Response::new(convert::category_out(found)))
    }

    async fn list_categories(
        &self,
        request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        let pb::ListCategoriesRequest {
            page_size,
            page_token,
            filter,
            order_by,
        } = request.into_inner();
        let page = self
            .store
            .list_categories(&list_query(page_size, page_token, filter, order_by))
            .await?;
        Ok(Response::new(pb::ListCategoriesResponse {
            categories: page.items.into_iter().map(convert::category_out).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
            revision: page.revision,
        }))
    }

    async fn update_category(
        &self,
        request: Request<pb::UpdateCategoryRequest>,
    ) -> Result<Response<pb::Category>, Status> {
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let pb::UpdateCategoryRequest {
            category,
            update_mask,
        } = request.into_inner();
        let requested = vec![
            category
                .as_ref()
                .map(|c| c.id.trim().to_owned())
                .unwrap_or_default(),
        ];
        let result = async {
            let (incoming, v) = convert::category_in(required("category", category)?);
            structural(v)?;
            let id = parse_id("category.id", &incoming.id)?;
            let updated = store
                .update_category(
                    &id,
                    etag(&incoming.etag),
                    &incoming.fields,
                    &mask_paths(update_mask),
                )
                .await?;
            Ok(convert::category_out(updated))
        }
        .await;
        audited(&self.audit, &call, requested, result, |c| {
            vec![c.id.clone()]
        })
        .await
        .map(Response::new)
    }

    async fn delete_category(
        &self,
        request: Request<pb::DeleteCategoryRequest>,
    ) -> Result<Response<()>, Status> {
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let pb::DeleteCategoryRequest { id, etag: sent } = request.into_inner();
        let requested = vec![id.trim().to_owned()];
        let result = async {
            let id = parse_id("id", &id)?;
            store.delete_category(&id, etag(&sent)).await?;
            Ok(())
        }
        .await;
        audited(&self.audit, &call, requested, result, |_| vec![])
            .await
            .map(Response::new)
    }
}
