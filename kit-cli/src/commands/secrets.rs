//! `kit secrets`: list, read, write and remove secrets by key.

use std::io::Read;

use kit_env::Encryption;

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::runtime;
use crate::flags::{Action, SecretsArgs, Sse};

fn full_key(prefix: &str, key: &str) -> Result<String, Failure> {
    let key = key.trim_start_matches('/');
    if key.split('/').any(|s| s == ".." || s == ".") {
        return Err(Failure::new(Code::Usage, format!("invalid key '{key}'")));
    }
    Ok(if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}/{key}")
    })
}

pub fn run(args: &SecretsArgs) -> Result<Vec<u8>, Failure> {
    let src = args.source.source()?;
    let s3 = args.source.s3_options()?;
    let value = match &args.action {
        Action::Put { .. } => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| Failure::io("cannot read the value from standard input", e))?;
            Some(buf)
        }
        _ => None,
    };
    runtime()?.block_on(async {
        let (store, layout) = src.open(&s3).await?;
        let prefix = layout.prefix();
        match &args.action {
            Action::Ls { path } => {
                let mut p = full_key(prefix, path)?;
                if !p.is_empty() && !p.ends_with('/') {
                    p.push('/');
                }
                let mut out = String::new();
                for k in store.list(&p).await? {
                    out.push_str(
                        k.strip_prefix(prefix)
                            .map_or(&k, |r| r.trim_start_matches('/')),
                    );
                    out.push('\n');
                }
                Ok(out.into_bytes())
            }
            Action::Get { key } => Ok(store.get(&full_key(prefix, key)?).await?),
            Action::Put {
                key,
                sse,
                kms_key_id,
            } => {
                let enc = match sse {
                    None => Encryption::Default,
                    Some(Sse::Aes256) => Encryption::Aes256,
                    Some(Sse::Kms) => Encryption::Kms(kms_key_id.clone()),
                };
                let value = value.unwrap_or_default();
                kit_env::Layout::parse_key(key.trim_start_matches('/')).map_err(|e| {
                    let f = Failure::from(e);
                    Failure {
                        code: Code::Usage,
                        ..f
                    }
                })?;
                if value.is_empty() {
                    return Err(Failure::new(
                        Code::Usage,
                        format!(
                            "refusing to store an empty value at '{}'",
                            kit_env::layout::printable(key)
                        ),
                    )
                    .with_hint("pipe the value in: printf %s \"$VALUE\" | kit secrets put KEY"));
                }
                store.put(&full_key(prefix, key)?, &value, &enc).await?;
                Ok(Vec::new())
            }
            Action::Rm { key } => {
                store.delete(&full_key(prefix, key)?).await?;
                Ok(Vec::new())
            }
        }
    })
}
