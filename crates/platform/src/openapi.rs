//! The OpenAPI document, generated from the handlers' annotations.
//! `crates/platform/openapi.json` is this document; a test fails on drift.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{admin, expert, publish, signin_codes};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Token from POST /api/v1/auth/login (role expert) or issued by an \
                         operator with a role (expert, author, operator); author routes need \
                         author or operator, admin routes operator",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Admin token given to the server at start-up; acts as an operator",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Assay platform API",
        description = "Wire protocol between the Assay reviewer workstation and a work platform.",
        version = "1.0.0"
    ),
    paths(
        expert::health,
        expert::login,
        expert::new_token,
        expert::revoke_current_token,
        expert::me,
        expert::whoami,
        expert::opportunities,
        expert::assignments,
        expert::renew_lease,
        expert::release,
        expert::item,
        expert::attachment,
        expert::rubric,
        expert::submit,
        expert::outcomes,
        expert::review,
        expert::rate_card,
        expert::ledger,
        expert::payouts,
        admin::decide_outcome,
        admin::create_payout,
        admin::assign,
        admin::revoke,
        admin::reassign,
        admin::set_lease,
        admin::issue_token,
        admin::update_item_content,
        publish::publish_rubric,
        publish::check_rubric_route,
        publish::put_opportunity,
        publish::get_opportunity,
        publish::put_attachment,
        publish::attachment_status,
        publish::import_items,
        publish::assign_by_policy,
        publish::assign_item,
        publish::create_expert,
        publish::export,
        signin_codes::create_code,
        signin_codes::exchange_code,
    ),
    components(schemas(assay_protocol::ApiErrorCode, assay_protocol::FieldValue, assay_protocol::AttachmentRef,
        publish::ImportLine, publish::ImportValue, publish::ImportAttachment, publish::BadLine)),
    modifiers(&Security)
)]
/// The platform's OpenAPI document, gathered from the handlers' annotations (see `openapi_json`).
pub struct ApiDoc;

/// The document as pretty JSON with a trailing newline (the committed form).
pub fn openapi_json() -> Result<String, serde_json::Error> {
    let mut s = ApiDoc::openapi().to_pretty_json()?;
    s.push('\n');
    Ok(s)
}
