//! Proto3 JSON for our generated messages.
//!
//! prost types carry no reflection, so we decode their bytes against the
//! descriptor set compiled from `proto/` and let `prost-reflect` apply the
//! canonical proto3 JSON mapping (lowerCamelCase names, enums by name,
//! 64-bit integers as strings, default values omitted).

use std::sync::LazyLock;

use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(super::DESCRIPTOR_SET)
        .expect("the descriptor set is produced by build.rs from proto/ and is always valid")
});

/// Errors turning a message into JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("message type {0} is not in the compiled descriptor set")]
    UnknownType(String),
    #[error("could not decode {name} against its descriptor: {source}")]
    Decode {
        name: String,
        source: prost::DecodeError,
    },
    #[error("could not encode {name} as JSON: {source}")]
    Serialize {
        name: String,
        source: serde_json::Error,
    },
}

/// Converts `msg` to its proto3 JSON value.
pub fn to_json<M: Message + Name>(msg: &M) -> Result<serde_json::Value, JsonError> {
    let name = M::full_name();
    let descriptor = POOL
        .get_message_by_name(&name)
        .ok_or_else(|| JsonError::UnknownType(name.clone()))?;
    let dynamic =
        DynamicMessage::decode(descriptor, msg.encode_to_vec().as_slice()).map_err(|source| {
            JsonError::Decode {
                name: name.clone(),
                source,
            }
        })?;
    let options = SerializeOptions::new().stringify_64_bit_integers(true);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|source| JsonError::Serialize { name, source })
}

/// Parses proto3 JSON into `M` (the inverse of [`to_json`]).
pub fn from_json<M: Message + Name + Default>(value: &serde_json::Value) -> Result<M, JsonError> {
    let name = M::full_name();
    let descriptor = POOL
        .get_message_by_name(&name)
        .ok_or_else(|| JsonError::UnknownType(name.clone()))?;
    let dynamic =
        DynamicMessage::deserialize(descriptor, value).map_err(|source| JsonError::Serialize {
            name: name.clone(),
            source,
        })?;
    M::decode(dynamic.encode_to_vec().as_slice())
        .map_err(|source| JsonError::Decode { name, source })
}
