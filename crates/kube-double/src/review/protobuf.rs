//! The review kinds sent as Kubernetes protobuf, as typed clients (kubectl
//! `auth can-i`) send them: the `k8s\0` envelope (`runtime.Unknown`:
//! type meta and the raw message), then the review's fields this double
//! reads, decoded into the JSON the rest of `review` takes. Unknown fields
//! are skipped; anything malformed is a 400.

use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The content type of Kubernetes protobuf.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\x00";

fn malformed(what: &str) -> ApiError {
    ApiError::bad_request(format!("the protobuf body is malformed: {what}"))
}

/// One field: its number and, for the wire types read here, its bytes.
enum Field<'a> {
    Bytes(u32, &'a [u8]),
    Other,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .0
                .split_first()
                .ok_or_else(|| malformed("truncated varint"))?;
            self.0 = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ApiError> {
        if n > self.0.len() {
            return Err(malformed("truncated field"));
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn next(&mut self) -> Result<Option<Field<'a>>, ApiError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| malformed("field number"))?;
        Ok(Some(match key & 7 {
            0 => {
                self.varint()?;
                Field::Other
            }
            1 => {
                self.take(8)?;
                Field::Other
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| malformed("length"))?;
                Field::Bytes(number, self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Field::Other
            }
            _ => return Err(malformed("unsupported wire type")),
        }))
    }
}

/// The length-delimited fields of `message`, in order.
fn fields(message: &[u8]) -> Result<Vec<(u32, &[u8])>, ApiError> {
    let mut reader = Reader(message);
    let mut out = Vec::new();
    while let Some(field) = reader.next()? {
        if let Field::Bytes(number, bytes) = field {
            out.push((number, bytes));
        }
    }
    Ok(out)
}

fn text(bytes: &[u8]) -> Result<Value, ApiError> {
    std::str::from_utf8(bytes)
        .map(|s| json!(s))
        .map_err(|_| malformed("a string is not UTF-8"))
}

/// A message of string fields (and repeated strings), by field number.
fn strings(message: &[u8], names: &[(u32, &str, bool)]) -> Result<Value, ApiError> {
    let mut map = Map::new();
    for (number, bytes) in fields(message)? {
        let Some((_, name, repeated)) = names.iter().find(|(n, _, _)| *n == number) else {
            continue;
        };
        let value = text(bytes)?;
        if *repeated {
            let list = map.entry(*name).or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                list.push(value);
            }
        } else {
            map.insert((*name).to_string(), value);
        }
    }
    Ok(Value::Object(map))
}

const RESOURCE_ATTRIBUTES: &[(u32, &str, bool)] = &[
    (1, "namespace", false),
    (2, "verb", false),
    (3, "group", false),
    (4, "version", false),
    (5, "resource", false),
    (6, "subresource", false),
    (7, "name", false),
];
const NON_RESOURCE_ATTRIBUTES: &[(u32, &str, bool)] = &[(1, "path", false), (2, "verb", false)];

/// A SubjectAccessReviewSpec (or the Self and Local ones, whose fields
/// are a prefix of it).
fn access_spec(message: &[u8]) -> Result<Value, ApiError> {
    let mut spec = strings(
        message,
        &[(3, "user", false), (4, "groups", true), (6, "uid", false)],
    )?;
    for (number, bytes) in fields(message)? {
        let (name, attributes) = match number {
            1 => ("resourceAttributes", strings(bytes, RESOURCE_ATTRIBUTES)?),
            2 => (
                "nonResourceAttributes",
                strings(bytes, NON_RESOURCE_ATTRIBUTES)?,
            ),
            _ => continue,
        };
        spec[name] = attributes;
    }
    Ok(spec)
}

/// A review sent as protobuf, as the JSON object it stands for.
pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| malformed("no k8s envelope"))?;
    let mut type_meta = Value::Null;
    let mut raw: &[u8] = &[];
    for (number, bytes) in fields(envelope)? {
        match number {
            1 => type_meta = strings(bytes, &[(1, "apiVersion", false), (2, "kind", false)])?,
            2 => raw = bytes,
            _ => {}
        }
    }
    let kind = type_meta["kind"].as_str().unwrap_or("").to_string();
    let mut object = json!({"apiVersion": type_meta["apiVersion"], "kind": kind});
    for (number, bytes) in fields(raw)? {
        match (number, kind.as_str()) {
            (2, "TokenReview") => {
                object["spec"] = strings(bytes, &[(1, "token", false), (2, "audiences", true)])?;
            }
            (2, _) => object["spec"] = access_spec(bytes)?,
            _ => {}
        }
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_kubectl_auth_can_i_sends() {
        // As kubectl 1.32 sent `auth can-i get models.mlops.seldon.io/status -n fraud`.
        let body = b"k8s\x00\n2\n\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\x12Q\n\x10\n\x00\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00\x123\n1\n\x05fraud\x12\x03get\x1a\x0fmlops.seldon.io\"\x00*\x06models2\x00:\x06status\x1a\x08\x08\x00\x12\x00\x1a\x00 \x00\x1a\x00\"\x00";
        let review = decode(body).expect("decodes");
        assert_eq!(review["kind"], "SelfSubjectAccessReview");
        let attributes = &review["spec"]["resourceAttributes"];
        assert_eq!(attributes["namespace"], "fraud");
        assert_eq!(attributes["verb"], "get");
        assert_eq!(attributes["group"], "mlops.seldon.io");
        assert_eq!(attributes["resource"], "models");
        assert_eq!(attributes["name"], "status");
        assert!(decode(b"k8s\x00\n\xff").is_err());
        assert!(decode(b"{}").is_err());
    }
}
