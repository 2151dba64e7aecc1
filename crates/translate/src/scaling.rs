//! The scaling rules shared by Model translation, the Server controller and
//! ServerNotify (docs/seldon-compat.md#scaling-rules): optional `replicas`, `minReplicas` and
//! `maxReplicas` (int32, as in the CRDs) in, validated unsigned counts out.
//!
//! The rules, in Seldon's order: replicas defaults to 1, or to a positive
//! minimum when replicas is unset; a minimum or maximum of 0 or less means
//! "none"; then replicas must lie within [min, max] and min must not exceed
//! max. A negative `replicas` without a positive minimum is ignored (replicas
//! stays 1), exactly as Seldon does.

/// The unbounded maximum: Seldon's default `maxReplicas` (uint32 max).
pub const UNBOUNDED: u32 = u32::MAX;

/// Validated scaling, as the scheduler's DeploymentSpec / ServerNotify carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scaling {
    /// Desired replicas.
    pub replicas: u32,
    /// Lower bound (0: none).
    pub min_replicas: u32,
    /// Upper bound ([`UNBOUNDED`]: none).
    pub max_replicas: u32,
}

impl Default for Scaling {
    /// Seldon's defaults when nothing is set: 1 replica, no bounds.
    fn default() -> Self {
        Scaling {
            replicas: 1,
            min_replicas: 0,
            max_replicas: UNBOUNDED,
        }
    }
}

/// A violated scaling rule. The messages are Seldon's, word for word,
/// including the "scaling spec is invalid" prefix (Go's `ErrScalingSpec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScalingError {
    /// A negative `replicas` with a positive `minReplicas`.
    #[error(
        "scaling spec is invalid: number of replicas {replicas} cannot be less than minimum replica {min}"
    )]
    NegativeReplicasBelowMin {
        /// `spec.replicas` as written (negative).
        replicas: i32,
        /// `spec.minReplicas`.
        min: i32,
    },
    /// `replicas` below `minReplicas`.
    #[error("scaling spec is invalid: number of replicas {replicas} must be >= min replicas {min}")]
    ReplicasBelowMin {
        /// The desired replicas.
        replicas: u32,
        /// `spec.minReplicas`.
        min: u32,
    },
    /// `minReplicas` above `maxReplicas`.
    #[error(
        "scaling spec is invalid: min number of replicas {min} must be <= max number of replicas {max}"
    )]
    MinAboveMax {
        /// `spec.minReplicas`.
        min: u32,
        /// `spec.maxReplicas`.
        max: u32,
    },
    /// `replicas` above `maxReplicas`.
    #[error("scaling spec is invalid: number of replicas {replicas} must be <= max replicas {max}")]
    ReplicasAboveMax {
        /// The desired replicas.
        replicas: u32,
        /// `spec.maxReplicas`.
        max: u32,
    },
}

impl ScalingError {
    /// The two spec fields that contradict each other.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            ScalingError::NegativeReplicasBelowMin { .. }
            | ScalingError::ReplicasBelowMin { .. } => &["spec.replicas", "spec.minReplicas"],
            ScalingError::MinAboveMax { .. } => &["spec.minReplicas", "spec.maxReplicas"],
            ScalingError::ReplicasAboveMax { .. } => &["spec.replicas", "spec.maxReplicas"],
        }
    }
}

/// Applies the scaling rules to a spec's `replicas`, `minReplicas` and
/// `maxReplicas`.
pub fn validate_scaling(
    replicas: Option<i32>,
    min_replicas: Option<i32>,
    max_replicas: Option<i32>,
) -> Result<Scaling, ScalingError> {
    let mut scaling = Scaling::default();
    // Only positive bounds count; 0 or negative means "no bound".
    let min = min_replicas.filter(|m| *m > 0);
    let max = max_replicas.filter(|m| *m > 0);

    match (replicas, min) {
        (Some(r), _) if r >= 0 => scaling.replicas = r.unsigned_abs(),
        (Some(r), Some(m)) => {
            // r is negative here, so always below a positive minimum.
            return Err(ScalingError::NegativeReplicasBelowMin {
                replicas: r,
                min: m,
            });
        }
        (None, Some(m)) => scaling.replicas = m.unsigned_abs(),
        // A negative replicas without a positive minimum keeps the default.
        (Some(_), None) | (None, None) => {}
    }

    if let Some(m) = min {
        scaling.min_replicas = m.unsigned_abs();
        if scaling.replicas < scaling.min_replicas {
            return Err(ScalingError::ReplicasBelowMin {
                replicas: scaling.replicas,
                min: scaling.min_replicas,
            });
        }
    }

    if let Some(m) = max {
        scaling.max_replicas = m.unsigned_abs();
        if scaling.min_replicas > scaling.max_replicas {
            return Err(ScalingError::MinAboveMax {
                min: scaling.min_replicas,
                max: scaling.max_replicas,
            });
        }
        if scaling.replicas > scaling.max_replicas {
            return Err(ScalingError::ReplicasAboveMax {
                replicas: scaling.replicas,
                max: scaling.max_replicas,
            });
        }
    }

    Ok(scaling)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u32 = u32::MAX;

    fn ok(replicas: u32, min_replicas: u32, max_replicas: u32) -> Result<Scaling, String> {
        Ok(Scaling {
            replicas,
            min_replicas,
            max_replicas,
        })
    }

    /// (replicas, minReplicas, maxReplicas) as written in a spec.
    type Spec = (Option<i32>, Option<i32>, Option<i32>);

    fn run(r: Option<i32>, m: Option<i32>, x: Option<i32>) -> Result<Scaling, String> {
        validate_scaling(r, m, x).map_err(|e| e.to_string())
    }

    /// The 13 vectors of Seldon's `internal/utils_test.go` (docs/seldon-compat.md#scaling-rules).
    #[test]
    fn seldon_vectors() {
        let err = |m: &str| Err(format!("scaling spec is invalid: {m}"));
        let cases: [(Spec, Result<Scaling, String>); 13] = [
            ((Some(2), Some(1), Some(3)), ok(2, 1, 3)),
            (
                (Some(1), Some(2), Some(4)),
                err("number of replicas 1 must be >= min replicas 2"),
            ),
            (
                (Some(5), Some(1), Some(4)),
                err("number of replicas 5 must be <= max replicas 4"),
            ),
            (
                (Some(0), Some(1), None),
                err("number of replicas 0 must be >= min replicas 1"),
            ),
            (
                (Some(6), Some(6), Some(4)),
                err("min number of replicas 6 must be <= max number of replicas 4"),
            ),
            ((Some(0), Some(0), Some(4)), ok(0, 0, 4)),
            ((Some(0), None, None), ok(0, 0, MAX)),
            ((Some(4), Some(4), Some(4)), ok(4, 4, 4)),
            ((Some(2), None, None), ok(2, 0, MAX)),
            ((None, None, None), ok(1, 0, MAX)),
            ((None, Some(2), None), ok(2, 2, MAX)),
            ((None, Some(0), None), ok(1, 0, MAX)),
            ((None, None, Some(2)), ok(1, 0, 2)),
        ];
        for (i, ((r, m, x), want)) in cases.into_iter().enumerate() {
            assert_eq!(run(r, m, x), want, "vector {} ({r:?}, {m:?}, {x:?})", i + 1);
        }
    }

    #[test]
    fn negative_replicas_with_positive_min_is_rejected() {
        assert_eq!(
            run(Some(-1), Some(2), None),
            Err("scaling spec is invalid: number of replicas -1 cannot be less than minimum replica 2".into())
        );
        assert_eq!(
            validate_scaling(Some(-1), Some(2), None)
                .unwrap_err()
                .fields(),
            ["spec.replicas", "spec.minReplicas"]
        );
    }

    #[test]
    fn non_positive_bounds_mean_none() {
        // Seldon ignores a negative replicas without a positive minimum.
        assert_eq!(run(Some(-3), None, None), ok(1, 0, MAX));
        assert_eq!(run(Some(-3), Some(-1), Some(-1)), ok(1, 0, MAX));
        assert_eq!(run(Some(7), Some(-5), Some(0)), ok(7, 0, MAX));
    }

    #[test]
    fn min_above_max_without_replicas() {
        // min fills replicas, then min > max is the rule that fails.
        assert_eq!(
            run(None, Some(3), Some(2)),
            Err("scaling spec is invalid: min number of replicas 3 must be <= max number of replicas 2".into())
        );
    }

    #[test]
    fn extremes() {
        assert_eq!(
            run(Some(i32::MAX), Some(i32::MAX), Some(i32::MAX)),
            ok(i32::MAX as u32, i32::MAX as u32, i32::MAX as u32)
        );
        assert_eq!(run(Some(i32::MIN), None, None), ok(1, 0, MAX));
    }
}
