//! The one table of the registry's services: each service's name, the adapter that serves it,
//! and the least role each of its methods requires (viewer < editor < admin). Routing, health,
//! the role checks of `auth` and the shutdown's health changes all read it; a method missing
//! here is refused (deny by default), and the end-to-end suite fails when an RPC of the
//! descriptors has no entry.

use std::sync::Arc;

use homecoming_proto::v1::{
    access_service_server::AccessServiceServer, audit_service_server::AuditServiceServer,
    category_service_server::CategoryServiceServer,
    duplicate_service_server::DuplicateServiceServer,
    exchange_service_server::ExchangeServiceServer,
    person_event_service_server::PersonEventServiceServer,
    person_service_server::PersonServiceServer, registry_service_server::RegistryServiceServer,
    watch_service_server::WatchServiceServer,
};
use tonic::service::Routes;

use super::{
    Rpc, access::AccessApi, audit::AuditApi, category::CategoryApi, duplicate::DuplicateApi,
    event::PersonEventApi, exchange::ExchangeApi, person::PersonApi, registry::RegistryApi,
    tokens::Authenticator, watch::WatchApi,
};
use crate::{domain::Role, metrics::MethodLabels, watch::Hub};

/// One service of the table.
pub struct Service {
    /// `homecoming.v1.PersonService`.
    pub name: &'static str,
    /// Each method's name and the least role it requires.
    pub methods: &'static [(&'static str, Role)],
}

/// What the adapters are built from.
pub struct Parts {
    pub rpc: Rpc,
    pub hub: Hub,
    pub auth: Arc<Authenticator>,
    /// Largest message a service decodes or encodes.
    pub max_message_bytes: usize,
}

macro_rules! services {
    ($( $server:ident ($parts:ident) => $api:expr, $name:literal {
        $($method:ident: $role:ident),+ $(,)?
    } )+) => {
        /// Every service of `homecoming.v1`, in the order of the proto files.
        pub const SERVICES: &[Service] = &[
            $(Service {
                name: $name,
                methods: &[$((stringify!($method), Role::$role)),+],
            }),+
        ];

        /// Every method of the table as its full gRPC path
        /// (`/homecoming.v1.PersonService/GetPerson`) with the least role it requires.
        pub const METHOD_ROLES: &[(&str, Role)] = &[
            $($((concat!("/", $name, "/", stringify!($method)), Role::$role),)+)+
        ];

        /// The routes of every service of the table.
        pub fn routes(parts: &Parts) -> Routes {
            let mut routes = Routes::default();
            $(
                let $parts = parts;
                routes = routes.add_service(
                    $server::new($api)
                        .max_decoding_message_size(parts.max_message_bytes)
                        .max_encoding_message_size(parts.max_message_bytes),
                );
            )+
            routes
        }
    };
}

services! {
    CategoryServiceServer(p) => CategoryApi::new(p.rpc.clone()), "homecoming.v1.CategoryService" {
        CreateCategory: Editor,
        GetCategory: Viewer,
        ListCategories: Viewer,
        UpdateCategory: Editor,
        DeleteCategory: Editor,
    }
    ExchangeServiceServer(p) => ExchangeApi::new(p.rpc.clone()), "homecoming.v1.ExchangeService" {
        CreateExchange: Editor,
        GetExchange: Viewer,
        LookupExchange: Viewer,
        ListExchanges: Viewer,
        UpdateExchange: Editor,
        DeleteExchange: Editor,
        GetExchangeSummary: Viewer,
    }
    PersonServiceServer(p) => PersonApi::new(p.rpc.clone()), "homecoming.v1.PersonService" {
        CreatePerson: Editor,
        BatchCreatePersons: Editor,
        GetPerson: Viewer,
        ListPersons: Viewer,
        UpdatePerson: Editor,
        DeletePerson: Editor,
        GetPersonHistory: Viewer,
        LookupPerson: Viewer,
        ImportPersons: Editor,
    }
    PersonEventServiceServer(p) => PersonEventApi::new(p.rpc.clone()), "homecoming.v1.PersonEventService" {
        CreatePersonEvent: Editor,
        GetPersonEvent: Viewer,
        ListPersonEvents: Viewer,
        UpdatePersonEvent: Editor,
        DeletePersonEvent: Editor,
    }
    DuplicateServiceServer(p) => DuplicateApi::new(p.rpc.clone()), "homecoming.v1.DuplicateService" {
        ListDuplicateCandidates: Viewer,
        MergePersons: Editor,
        DismissDuplicateCandidate: Editor,
    }
    RegistryServiceServer(p) => RegistryApi::new(p.rpc.clone()), "homecoming.v1.RegistryService" {
        GetStatistics: Viewer,
    }
    WatchServiceServer(p) => WatchApi::new(p.rpc.clone(), p.hub.clone()), "homecoming.v1.WatchService" {
        Watch: Viewer,
    }
    AccessServiceServer(p) => AccessApi::new(p.rpc.clone(), p.auth.clone()), "homecoming.v1.AccessService" {
        CreateToken: Admin,
        ListTokens: Admin,
        RevokeToken: Admin,
    }
    AuditServiceServer(p) => AuditApi::new(p.rpc.clone()), "homecoming.v1.AuditService" {
        ListAuditEvents: Admin,
    }
}

/// Methods served besides the table's (no token needed) and their kind, for the metrics.
const PUBLIC_METHODS: &[(&str, &str, &str)] = &[
    ("grpc.health.v1.Health", "Check", "unary"),
    ("grpc.health.v1.Health", "Watch", "server_stream"),
    (
        "grpc.reflection.v1.ServerReflection",
        "ServerReflectionInfo",
        "bidi_stream",
    ),
    (
        "grpc.reflection.v1alpha.ServerReflection",
        "ServerReflectionInfo",
        "bidi_stream",
    ),
];

/// `method` (a full path) as the metrics label it: a method of the table or a public one, or
/// `unknown` (so that no client can grow the metrics' label set).
pub fn labels_of(method: &str) -> MethodLabels {
    let unknown = MethodLabels {
        grpc_type: "unary",
        grpc_service: "unknown",
        grpc_method: "unknown",
    };
    let Some((service, name)) = method.strip_prefix('/').and_then(|m| m.split_once('/')) else {
        return unknown;
    };
    if let Some(s) = SERVICES.iter().find(|s| s.name == service)
        && let Some((m, _)) = s.methods.iter().find(|(m, _)| *m == name)
    {
        return MethodLabels {
            // The registry's one streaming method.
            grpc_type: if *m == "Watch" {
                "server_stream"
            } else {
                "unary"
            },
            grpc_service: s.name,
            grpc_method: m,
        };
    }
    PUBLIC_METHODS
        .iter()
        .find(|(s, m, _)| *s == service && *m == name)
        .map_or(unknown, |(s, m, kind)| MethodLabels {
            grpc_type: kind,
            grpc_service: s,
            grpc_method: m,
        })
}

/// The least role `method` (a full path) requires, if the table has it.
pub fn role_of(method: &str) -> Option<Role> {
    let (service, name) = method.strip_prefix('/')?.split_once('/')?;
    SERVICES
        .iter()
        .find(|s| s.name == service)?
        .methods
        .iter()
        .find(|(m, _)| *m == name)
        .map(|(_, r)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_and_the_full_paths_agree() {
        assert_eq!(
            role_of("/homecoming.v1.PersonService/GetPerson"),
            Some(Role::Viewer)
        );
        assert_eq!(
            role_of("/homecoming.v1.AuditService/ListAuditEvents"),
            Some(Role::Admin)
        );
        assert_eq!(role_of("/homecoming.v1.PersonService/Nope"), None);
        assert_eq!(role_of("nonsense"), None);
        let watch = labels_of("/homecoming.v1.WatchService/Watch");
        assert_eq!(
            (watch.grpc_type, watch.grpc_method),
            ("server_stream", "Watch")
        );
        assert_eq!(
            labels_of("/grpc.health.v1.Health/Check").grpc_service,
            "grpc.health.v1.Health"
        );
        assert_eq!(labels_of("/x.Y/Z").grpc_service, "unknown");
        for (path, role) in METHOD_ROLES {
            assert_eq!(role_of(path), Some(*role), "{path}");
        }
    }
}
