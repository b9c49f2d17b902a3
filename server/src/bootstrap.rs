//! What the first start of a new registry creates: the administrator's token, written to a file
//! only its owner can read (secure by default: no registry serves without a token).

use std::path::Path;

use anyhow::Context;

use crate::{config::Config, store::Store};

/// On the first start (no tokens at all) creates the administrator token and writes it to a
/// file only the owner can read; logs where it is, never the token.
pub async fn admin_token(config: &Config, store: &Store) -> anyhow::Result<()> {
    let Some((token, secret)) = store.bootstrap_admin_token().await? else {
        return Ok(());
    };
    let path = config.admin_token_path();
    write_private(&path, &format!("{secret}\n"))
        .with_context(|| format!("writing the admin token to {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        token = %token.name,
        "created the first admin token; it is in this file (readable by its owner only). \
         Create named tokens with it and keep it safe"
    );
    Ok(())
}

/// Writes `content` to a new file readable and writable by its owner only.
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // An existing file keeps its mode on open: tighten it.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(content.as_bytes())?;
    f.sync_all()
}
