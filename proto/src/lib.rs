//! # Layout
//! The `homecoming.v1` protobuf contract compiled to Rust (messages with prost, services with
//! tonic). The `.proto` sources live beside this crate in `homecoming/v1/`; `build.rs` compiles
//! them with protox, so no system `protoc` is needed.
//!
//! - [`v1`]: messages, enums, and the client and server stubs of every service.
//! - [`google::r#type`]: `google.type.Date`; [`google::rpc`]: the error details (both vendored
//!   from googleapis).
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for gRPC reflection.
//!
//! Well-known types (`Timestamp`, `FieldMask`, `Empty`) come from [`prost_types`].

/// The `homecoming` package tree (module paths mirror proto packages, as prost expects).
pub mod homecoming {
    /// `homecoming.v1`: the registry's resources and services.
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("homecoming.v1");
    }
}

pub use homecoming::v1;

/// Vendored Google common types.
pub mod google {
    /// `google.type`.
    pub mod r#type {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("google.r#type");
    }

    /// The error details Homecoming sends (compiled for reflection; in Rust code prefer
    /// `tonic_types`, which reads them from a `Status`).
    pub mod rpc {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("google.rpc");
    }
}

/// Encoded `FileDescriptorSet` of every file above (and the well-known types they import), for
/// `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/homecoming_descriptor.bin"));

pub use prost_types;
