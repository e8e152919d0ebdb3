//! The certificates an https connection is checked against.

use std::sync::Arc;

/// The certificates an https server is checked against: the Mozilla roots, and those of
/// `--ca-cert`.
#[derive(Clone)]
pub struct Trust(pub(super) Arc<rustls::RootCertStore>);

impl Trust {
    /// The Mozilla roots, and the certificates of the PEM file `extra` if given (the internal CA
    /// that signed a server's certificate).
    pub fn with(extra: Option<&std::path::Path>) -> Result<Trust, String> {
        use rustls::pki_types::pem::PemObject;
        let mut roots = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .cloned()
            .collect::<rustls::RootCertStore>();
        if let Some(path) = extra {
            let why = |e: &dyn std::fmt::Display| format!("--ca-cert {}: {e}", path.display());
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| why(&e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| why(&e))?;
            if certs.is_empty() {
                return Err(why(
                    &"no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                ));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| why(&e))?;
            }
        }
        Ok(Trust(Arc::new(roots)))
    }
}
