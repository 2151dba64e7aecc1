//! `switchyard crds`: print the CustomResourceDefinitions of the seven
//! `mlops.seldon.io` kinds as one multi-document YAML stream, the same YAML
//! as the files under `deploy/crds/`.
//!
//! Apply it with `switchyard crds | kubectl apply --server-side -f -`: the
//! kinds that embed a pod spec are too large for client-side apply's
//! last-applied annotation.

use anyhow::Context;

use switchyard_api::crd;

/// Writes every CRD to `out`.
pub fn run(out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let yaml = crd::crds_yaml()?;
    out.write_all(yaml.as_bytes())
        .context("writing the CRDs to the output")?;
    out.flush().context("flushing the output")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_seven_crds() {
        let mut out = Vec::new();
        run(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, crd::crds_yaml().unwrap());
        assert_eq!(text.matches("kind: CustomResourceDefinition\n").count(), 7);
    }
}
