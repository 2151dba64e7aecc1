//! Counting the repeated entries of an encoded request before it is
//! decoded, so a small message cannot decode into a large one.
//!
//! An empty entry of a repeated message field costs two bytes on the wire
//! and a whole struct once decoded (a 14 MB request of empty `servers`
//! decoded into about a gigabyte). Everything else a message holds decodes
//! to at most about its encoded size. So the walk counts entries of
//! repeated and map fields, at every depth, against the descriptor of the
//! method's input type, without allocating; past the limit it stops.
//! Malformed input is left to the decoder, which reports it.

use prost_reflect::{Kind, MessageDescriptor};

/// Deeper than this the walk stops (prost refuses deeper messages anyway).
const MAX_DEPTH: u32 = 100;

/// The outcome of a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entries {
    /// At most the limit: this many.
    Within(usize),
    /// More than the limit (the walk stopped there).
    TooMany,
    /// Not a valid encoding: for the decoder to reject.
    Malformed,
}

struct Walk {
    count: usize,
    limit: usize,
}

enum Stop {
    TooMany,
    Malformed,
}

/// Counts the repeated entries of `message`, encoded as `desc`.
pub(crate) fn count_entries(desc: &MessageDescriptor, message: &[u8], limit: usize) -> Entries {
    let mut walk = Walk { count: 0, limit };
    match walk.message(desc, message, 0) {
        Ok(()) => Entries::Within(walk.count),
        Err(Stop::TooMany) => Entries::TooMany,
        Err(Stop::Malformed) => Entries::Malformed,
    }
}

fn varint(buf: &mut &[u8]) -> Result<u64, Stop> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first().ok_or(Stop::Malformed)?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Stop::Malformed)
}

fn take<'a>(buf: &mut &'a [u8], len: u64) -> Result<&'a [u8], Stop> {
    let len = usize::try_from(len).map_err(|_| Stop::Malformed)?;
    if len > buf.len() {
        return Err(Stop::Malformed);
    }
    let (head, rest) = buf.split_at(len);
    *buf = rest;
    Ok(head)
}

/// Elements of a packed repeated scalar field.
fn packed_elements(kind: &Kind, data: &[u8]) -> usize {
    match kind {
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => data.len() / 8,
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => data.len() / 4,
        // Varints: one element ends at each byte without the high bit.
        _ => data.iter().filter(|b| **b & 0x80 == 0).count(),
    }
}

impl Walk {
    fn add(&mut self, n: usize) -> Result<(), Stop> {
        self.count = self.count.saturating_add(n);
        if self.count > self.limit {
            return Err(Stop::TooMany);
        }
        Ok(())
    }

    fn message(
        &mut self,
        desc: &MessageDescriptor,
        mut buf: &[u8],
        depth: u32,
    ) -> Result<(), Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::Malformed);
        }
        while !buf.is_empty() {
            let key = varint(&mut buf)?;
            let number = u32::try_from(key >> 3).map_err(|_| Stop::Malformed)?;
            let field = desc.get_field(number);
            let repeated = field.as_ref().is_some_and(|f| f.is_list() || f.is_map());
            match key & 7 {
                0 => drop(varint(&mut buf)?),
                1 => drop(take(&mut buf, 8)?),
                5 => drop(take(&mut buf, 4)?),
                2 => {
                    let len = varint(&mut buf)?;
                    let data = take(&mut buf, len)?;
                    let Some(field) = field else { continue };
                    match field.kind() {
                        Kind::Message(inner) => {
                            if repeated {
                                self.add(1)?;
                            }
                            self.message(&inner, data, depth + 1)?;
                        }
                        Kind::String | Kind::Bytes if repeated => self.add(1)?,
                        Kind::String | Kind::Bytes => {}
                        scalar if repeated => self.add(packed_elements(&scalar, data))?,
                        _ => {}
                    }
                    continue;
                }
                _ => return Err(Stop::Malformed),
            }
            if repeated {
                self.add(1)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_reflect::DescriptorPool;

    use super::*;
    use switchyard_proto::scheduler::{
        LoadPipelineRequest, Pipeline, PipelineStep, ServerNotify, ServerNotifyRequest,
    };

    fn descriptor(name: &str) -> MessageDescriptor {
        DescriptorPool::decode(switchyard_proto::DESCRIPTOR_SET)
            .unwrap()
            .get_message_by_name(name)
            .unwrap()
    }

    #[test]
    fn counts_entries_at_every_depth() {
        let notify = ServerNotifyRequest {
            servers: vec![ServerNotify::default(); 3],
            is_first_sync: true,
        };
        let desc = descriptor("seldon.mlops.scheduler.ServerNotifyRequest");
        assert_eq!(
            count_entries(&desc, &notify.encode_to_vec(), 10),
            Entries::Within(3)
        );
        assert_eq!(
            count_entries(&desc, &notify.encode_to_vec(), 2),
            Entries::TooMany
        );

        let step = PipelineStep {
            name: "a".into(),
            inputs: vec!["x".into(), "y".into()],
            tensor_map: [("k".to_owned(), "v".to_owned())].into(),
            ..Default::default()
        };
        let pipeline = LoadPipelineRequest {
            pipeline: Some(Pipeline {
                name: "p".into(),
                steps: vec![step.clone(), step],
                ..Default::default()
            }),
        };
        let desc = descriptor("seldon.mlops.scheduler.LoadPipelineRequest");
        // Two steps, each with two inputs and one tensorMap entry.
        assert_eq!(
            count_entries(&desc, &pipeline.encode_to_vec(), 100),
            Entries::Within(8)
        );
    }

    #[test]
    fn malformed_input_is_left_to_the_decoder() {
        let desc = descriptor("seldon.mlops.scheduler.ServerNotifyRequest");
        // Field 1, length 10, but only one byte follows.
        assert_eq!(count_entries(&desc, &[0x0a, 10, 0], 10), Entries::Malformed);
        assert_eq!(count_entries(&desc, &[0x80], 10), Entries::Malformed);
        assert_eq!(count_entries(&desc, &[], 10), Entries::Within(0));
    }
}
