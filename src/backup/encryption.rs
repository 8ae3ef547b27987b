//! Backups encrypted as they stream, in the age format (age-encryption.org/v1, the `age`
//! crate): to X25519 recipients (public keys: the machine that writes backups holds no
//! secret), or with a passphrase from an environment variable. `Seal` wraps the compressed
//! stream on its way to disk, so the file's checksum covers the encrypted bytes and damage
//! is found without decrypting; `Key` opens it again for a restore check or a restore, and
//! is checked against the file's header before anything is touched, so a missing or wrong
//! key is one clear error. Keys and passphrases are never written anywhere: the manifest
//! names the recipients only, and every message names the file or variable, not its text.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;

use age::secrecy::{ExposeSecret, SecretString};

use super::manifest::{Encryption, Manifest};
use crate::config::{BackupPolicy, Encrypt, IdentitySource};
use crate::error::Error;

/// The format named in manifests.
const FORMAT: &str = "age";
/// The extension an encrypted backup gets after its own (`.pgdump.zst.age`).
pub const EXTENSION: &str = "age";

/// How a new backup is sealed: not at all, or as the policy's `encrypt` says.
#[derive(Clone, Default)]
pub struct Seal(Option<Arc<Sealing>>);

enum Sealing {
    Recipients(Vec<age::x25519::Recipient>),
    Passphrase(SecretString),
}

impl Seal {
    /// The seal the policy asks for; a passphrase variable that is not set is an error
    /// before anything is written.
    pub fn for_policy(policy: &BackupPolicy) -> Result<Seal, Error> {
        let sealing = match &policy.encrypt {
            None => return Ok(Seal::default()),
            Some(Encrypt::Recipients { recipients, .. }) => Sealing::Recipients(
                recipients
                    .iter()
                    .map(|r| {
                        r.parse().map_err(|_| {
                            Error::Usage("backup.encrypt.recipients: not an age public key".into())
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(Encrypt::Passphrase { env }) => Sealing::Passphrase(passphrase(env)?),
        };
        Ok(Seal(Some(Arc::new(sealing))))
    }

    pub fn is_sealed(&self) -> bool {
        self.0.is_some()
    }

    /// What the manifest says about it: the recipients, or that a passphrase was used.
    pub fn describe(&self) -> Option<Encryption> {
        let sealing = self.0.as_deref()?;
        Some(Encryption {
            format: FORMAT.into(),
            recipients: match sealing {
                Sealing::Recipients(r) => r.iter().map(|r| r.to_string()).collect(),
                Sealing::Passphrase(_) => Vec::new(),
            },
            passphrase: matches!(sealing, Sealing::Passphrase(_)),
        })
    }

    /// Encrypt what is written to `out` (or pass it through, unsealed).
    pub fn wrap<W: Write>(&self, out: W) -> io::Result<Sealed<W>> {
        let encryptor = match self.0.as_deref() {
            None => return Ok(Sealed::Plain(out)),
            Some(Sealing::Recipients(rs)) => {
                age::Encryptor::with_recipients(rs.iter().map(|r| r as &dyn age::Recipient))
                    .map_err(|e| io::Error::other(format!("cannot encrypt: {e}")))?
            }
            Some(Sealing::Passphrase(p)) => age::Encryptor::with_user_passphrase(
                SecretString::from(p.expose_secret().to_owned()),
            ),
        };
        Ok(Sealed::Age(encryptor.wrap_output(out)?))
    }
}

/// A writer that encrypts, or passes through; `finish` writes the last encrypted chunk.
pub enum Sealed<W: Write> {
    Plain(W),
    Age(age::stream::StreamWriter<W>),
}

impl<W: Write> Sealed<W> {
    pub fn finish(self) -> io::Result<W> {
        match self {
            Sealed::Plain(w) => Ok(w),
            Sealed::Age(s) => s.finish(),
        }
    }
}

impl<W: Write> Write for Sealed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sealed::Plain(w) => w.write(buf),
            Sealed::Age(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sealed::Plain(w) => w.flush(),
            Sealed::Age(s) => s.flush(),
        }
    }
}

/// What opens an encrypted backup (none for a plain one). Cheap to clone: the thread that
/// decrypts takes its own.
#[derive(Clone, Default)]
pub struct Key(Option<Arc<Opening>>);

enum Opening {
    Identities(Vec<age::x25519::Identity>),
    Passphrase(SecretString),
}

impl std::fmt::Debug for Key {
    /// Whether there is a key; never what it is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Key(set)"
        } else {
            "Key(none)"
        })
    }
}

impl Key {
    /// The key that opens `file` (whose manifest is `m`): none when it is not encrypted,
    /// else the policy's identity or passphrase, tried on the file's header now, so that a
    /// missing or wrong key stops a verify or restore before it starts.
    pub fn for_backup(policy: &BackupPolicy, m: &Manifest, file: &Path) -> Result<Key, Error> {
        let Some(enc) = &m.encryption else {
            return Ok(Key::default());
        };
        let opening = match (&policy.encrypt, enc.passphrase) {
            (Some(Encrypt::Passphrase { env }), true) => Opening::Passphrase(passphrase(env)?),
            (
                Some(Encrypt::Recipients {
                    identity: Some(source),
                    ..
                }),
                false,
            ) => Opening::Identities(identities(source)?),
            _ => return Err(no_key(file, enc)),
        };
        let key = Key(Some(Arc::new(opening)));
        let header = std::fs::File::open(file).map_err(super::native::io_err(file))?;
        match key.open(BufReader::new(header)) {
            Ok(_) => Ok(key),
            Err(e) => Err(wrong_key(file, enc, policy, &e)),
        }
    }

    /// Decrypt what `input` yields (or pass it through, for a plain backup).
    pub fn open<'a, R: BufRead + 'a>(&self, input: R) -> io::Result<Box<dyn Read + 'a>> {
        let Some(opening) = self.0.as_deref() else {
            return Ok(Box::new(input));
        };
        let decryptor = age::Decryptor::new_buffered(input).map_err(decrypt_error)?;
        let reader = match opening {
            Opening::Identities(ids) => decryptor
                .decrypt(ids.iter().map(|i| i as &dyn age::Identity))
                .map_err(decrypt_error)?,
            Opening::Passphrase(p) => {
                let id =
                    age::scrypt::Identity::new(SecretString::from(p.expose_secret().to_owned()));
                decryptor
                    .decrypt(std::iter::once(&id as &dyn age::Identity))
                    .map_err(decrypt_error)?
            }
        };
        Ok(Box::new(reader))
    }
}

fn decrypt_error(e: age::DecryptError) -> io::Error {
    let kind = match e {
        age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => {
            io::ErrorKind::PermissionDenied
        }
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, format!("cannot decrypt: {e}"))
}

/// Who the file is encrypted to, for messages.
fn to_whom(enc: &Encryption) -> String {
    if enc.passphrase {
        "with a passphrase".into()
    } else {
        format!("to {}", enc.recipients.join(", "))
    }
}

fn no_key(file: &Path, enc: &Encryption) -> Error {
    let hint = if enc.passphrase {
        "set `passphrase_env` in the environment's [backup] `encrypt` to the variable holding the passphrase"
    } else {
        "set `identity_file` or `identity_env` in the environment's [backup] `encrypt` to the secret key (`AGE-SECRET-KEY-1…`) of one of its recipients"
    };
    Error::Prerequisite {
        message: format!(
            "{} is encrypted (age, {}) and no key to decrypt it is configured",
            file.display(),
            to_whom(enc)
        ),
        hint: hint.into(),
    }
}

fn wrong_key(file: &Path, enc: &Encryption, policy: &BackupPolicy, e: &io::Error) -> Error {
    if e.kind() != io::ErrorKind::PermissionDenied {
        return Error::Backup(format!("{}: {e}", file.display()));
    }
    let source = match &policy.encrypt {
        Some(Encrypt::Passphrase { env }) => format!("the passphrase in ${env}"),
        Some(Encrypt::Recipients {
            identity: Some(s), ..
        }) => s.to_string(),
        _ => "the configured key".into(),
    };
    Error::Prerequisite {
        message: format!(
            "{} is encrypted (age, {}) and {source} does not open it",
            file.display(),
            to_whom(enc)
        ),
        hint: "configure the key of one of the backup's recipients; nothing was touched".into(),
    }
}

/// The passphrase in `env`; unset or empty is an error naming the variable.
fn passphrase(env: &str) -> Result<SecretString, Error> {
    match std::env::var(env) {
        Ok(p) if !p.is_empty() => Ok(SecretString::from(p)),
        _ => Err(Error::Prerequisite {
            message: format!("${env} is not set; it holds the backups' encryption passphrase"),
            hint: format!("export {env} before running cutover"),
        }),
    }
}

/// The X25519 identities in a file or variable: one `AGE-SECRET-KEY-1…` a line, `#`
/// comments and blank lines skipped (the format `age-keygen` writes). A line that does not
/// parse is named by number, never shown.
fn identities(source: &IdentitySource) -> Result<Vec<age::x25519::Identity>, Error> {
    let text = match source {
        IdentitySource::File(path) => {
            std::fs::read_to_string(path).map_err(super::native::io_err(path))?
        }
        IdentitySource::Env(var) => std::env::var(var).map_err(|_| Error::Prerequisite {
            message: format!("${var} is not set; it holds the key that decrypts the backups"),
            hint: format!("export {var} (the `AGE-SECRET-KEY-1…` line of the identity)"),
        })?,
    };
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id = line.parse().map_err(|_| {
            Error::Usage(format!(
                "{source}, line {}: not an age X25519 identity (`AGE-SECRET-KEY-1…`)",
                n + 1
            ))
        })?;
        found.push(id);
    }
    if found.is_empty() {
        return Err(Error::Usage(format!("{source} holds no age identity")));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed_round_trip(seal: &Seal, key: &Key) -> io::Result<Vec<u8>> {
        let mut w = seal.wrap(Vec::new())?;
        w.write_all(b"rows")?;
        let bytes = w.finish()?;
        let mut out = Vec::new();
        key.open(&bytes[..])?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn seals_and_opens_with_the_right_identity_only() {
        let id = age::x25519::Identity::generate();
        let seal = Seal(Some(Arc::new(Sealing::Recipients(vec![id.to_public()]))));
        let right = Key(Some(Arc::new(Opening::Identities(vec![id]))));
        assert_eq!(sealed_round_trip(&seal, &right).unwrap(), b"rows");
        let other = Key(Some(Arc::new(Opening::Identities(vec![
            age::x25519::Identity::generate(),
        ]))));
        let e = sealed_round_trip(&seal, &other).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
        assert_eq!(
            sealed_round_trip(&Seal::default(), &Key::default()).unwrap(),
            b"rows"
        );
        let described = seal.describe().unwrap();
        assert!(described.recipients[0].starts_with("age1") && !described.passphrase);
    }
}
