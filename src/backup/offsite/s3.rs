//! A destination in S3-compatible object storage (`object_store`'s S3 client), driven on a
//! current-thread runtime so that the rest of cutover stays synchronous. Credentials,
//! region and endpoint come from the standard AWS_* environment variables, never the
//! configuration file. A copy is a multipart upload: the object appears only when the
//! upload completes, so an interrupted upload leaves nothing under the backup's name (a
//! failed one is aborted too, so its parts are not kept).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use super::Store;
use crate::interrupt;

/// Parts of 8 MiB (S3 wants at least 5), two in flight.
const PART: usize = 8 << 20;
const IN_FLIGHT: usize = 2;

pub struct S3 {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    runtime: tokio::runtime::Runtime,
}

impl S3 {
    pub fn new(bucket: &str, prefix: &str) -> Result<S3, String> {
        // reqwest is built without a provider of its own (see Cargo.toml): ring's becomes the
        // process default. An error only says one is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        // A local S3-compatible server speaks plain HTTP; the endpoint says so.
        let endpoint = std::env::var("AWS_ENDPOINT_URL").or_else(|_| std::env::var("AWS_ENDPOINT"));
        if endpoint.is_ok_and(|e| e.starts_with("http://")) {
            builder = builder.with_allow_http(true);
        }
        let store = builder.build().map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(S3 {
            store: Arc::new(store),
            prefix: prefix.to_string(),
            runtime,
        })
    }

    fn key(&self, name: &str) -> Key {
        match self.prefix.is_empty() {
            true => Key::from(name),
            false => Key::from(format!("{}/{name}", self.prefix)),
        }
    }

    async fn upload(
        &self,
        local: &Path,
        key: &Key,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), String> {
        let mut file = std::fs::File::open(local).map_err(|e| e.to_string())?;
        let upload = self
            .store
            .put_multipart(key)
            .await
            .map_err(|e| e.to_string())?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        let sent = async {
            loop {
                if interrupt::requested() {
                    return Err("interrupted by SIGINT/SIGTERM".to_string());
                }
                let n = file.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Ok(());
                }
                writer
                    .wait_for_capacity(IN_FLIGHT)
                    .await
                    .map_err(|e| e.to_string())?;
                writer.write(&buf[..n]);
                bytes += n as u64;
                progress(bytes);
            }
        }
        .await;
        match sent {
            Ok(()) => writer.finish().await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }
}

impl Store for S3 {
    fn put(&self, local: &Path, name: &str, progress: &mut dyn FnMut(u64)) -> Result<(), String> {
        self.runtime
            .block_on(self.upload(local, &self.key(name), progress))
    }

    fn read_into(&self, name: &str, out: &mut dyn Write) -> Result<(), String> {
        let key = self.key(name);
        self.runtime.block_on(async {
            let got = self.store.get(&key).await.map_err(|e| e.to_string())?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                if interrupt::requested() {
                    return Err("interrupted by SIGINT/SIGTERM".to_string());
                }
                out.write_all(&chunk.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    }

    fn names(&self) -> Result<Vec<String>, String> {
        let prefix = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        self.runtime.block_on(async {
            let mut listed = self.store.list(prefix.as_ref());
            let mut names = Vec::new();
            while let Some(meta) = listed.next().await {
                let meta = meta.map_err(|e| e.to_string())?;
                let key = meta.location.as_ref();
                let name = match self.prefix.is_empty() {
                    true => key,
                    false => key
                        .strip_prefix(self.prefix.as_str())
                        .map_or(key, |k| k.trim_start_matches('/')),
                };
                // Only what sits directly under the prefix.
                if !name.contains('/') {
                    names.push(name.to_string());
                }
            }
            Ok(names)
        })
    }

    fn delete(&self, name: &str) -> Result<(), String> {
        let key = self.key(name);
        self.runtime
            .block_on(self.store.delete(&key))
            .map_err(|e| e.to_string())
    }
}
