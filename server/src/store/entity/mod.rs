//! sea-orm entities of the tables the store reads and writes as whole rows of their own: the
//! revision counter, the change log, request ids, tokens and audit events. The registry's
//! resources (categories, exchanges, persons) and their link rows have no entity: their
//! columns come from each resource's declaration (`store::codec`), so adding a field does not
//! mean keeping an entity in step.

pub mod access_token;
pub mod audit_event;
pub mod change_log;
pub mod idempotency;
pub mod revision;
