use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use cartgate_connector::PlatformDescriptor;
use serde::Serialize;
use utoipa::ToSchema;

use super::docs::CommonErrors;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct PlatformList {
    pub data: Vec<PlatformDescriptor>,
}

/// The platforms this gateway can connect, with their credential fields, operations,
/// filters and webhook events.
#[utoipa::path(get, path = "/v1/platforms", tag = "platforms", operation_id = "listPlatforms",
    responses((status = 200, body = PlatformList), CommonErrors), security(("api_key" = [])))]
pub async fn list_platforms(State(state): State<Arc<AppState>>) -> Json<PlatformList> {
    Json(PlatformList {
        data: state
            .registry
            .all()
            .map(|p| p.connector.descriptor())
            .collect(),
    })
}
