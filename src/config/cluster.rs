//! `[cluster]` (many nodes on NATS JetStream) and `[storage.object_store]` (WARC files in
//! S3-compatible object storage). Either may be set without the other; neither is needed by a
//! single node. Credentials are never read from the file: NATS's from `GAZETTE_NATS_*`, the
//! object store's from the usual `AWS_*` variables.

use serde::Deserialize;
use url::Url;

use super::Slug;

/// Seconds a worker may go without a sign of life before its job is handed to another.
pub const DEFAULT_ACK_WAIT_SECS: u64 = 30;
/// Deliveries of one job before it is logged and dropped.
pub const DEFAULT_MAX_DELIVER: i64 = 5;
/// Seconds before a failed job is offered again.
pub const DEFAULT_RETRY_SECS: u64 = 60;
/// Copies JetStream keeps of every stream and bucket: 1 on one NATS server, 3 on a cluster.
pub const DEFAULT_REPLICAS: usize = 1;
/// Bytes of uploaded WARC files kept on the local disk as a cache.
pub const DEFAULT_LOCAL_CACHE_BYTES: u64 = 1024 * 1024 * 1024;
/// The region given to the object store when none is set.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The environment variables NATS credentials are read from.
pub const NATS_CREDS_ENV: &str = "GAZETTE_NATS_CREDS";
pub const NATS_USER_ENV: &str = "GAZETTE_NATS_USER";
pub const NATS_PASSWORD_ENV: &str = "GAZETTE_NATS_PASSWORD";
pub const NATS_TOKEN_ENV: &str = "GAZETTE_NATS_TOKEN";

/// `[cluster]`: the NATS servers this node joins and its name among the nodes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// One or more `nats://host:port` servers of the same NATS cluster.
    #[serde(deserialize_with = "one_or_many")]
    pub nats_url: Vec<NatsUrl>,
    /// This node's name: unique among the nodes, in its WARC files' names and its logs.
    pub node_id: Slug,
    #[serde(default = "default_ack_wait_secs")]
    pub ack_wait_secs: u64,
    #[serde(default = "default_max_deliver")]
    pub max_deliver: i64,
    #[serde(default = "default_retry_secs")]
    pub retry_secs: u64,
    /// Copies of each stream and bucket; at most the number of NATS servers.
    #[serde(default = "default_replicas")]
    pub replicas: usize,
}

/// Credentials for NATS, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatsCredentials {
    None,
    /// A `.creds` file (JWT and NKey seed).
    File(String),
    UserPassword(String, String),
    Token(String),
}

impl ClusterConfig {
    /// The credentials the environment gives, or why they are incomplete.
    pub fn credentials(&self) -> Result<NatsCredentials, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(file) = var(NATS_CREDS_ENV) {
            return Ok(NatsCredentials::File(file));
        }
        match (var(NATS_USER_ENV), var(NATS_PASSWORD_ENV)) {
            (Some(user), Some(password)) => {
                return Ok(NatsCredentials::UserPassword(user, password));
            }
            (Some(_), None) => {
                return Err(format!(
                    "{NATS_USER_ENV} is set, {NATS_PASSWORD_ENV} is not"
                ));
            }
            (None, Some(_)) => {
                return Err(format!(
                    "{NATS_PASSWORD_ENV} is set, {NATS_USER_ENV} is not"
                ));
            }
            (None, None) => {}
        }
        Ok(var(NATS_TOKEN_ENV).map_or(NatsCredentials::None, NatsCredentials::Token))
    }

    /// The servers, comma-separated, as the NATS client takes them.
    pub fn servers(&self) -> String {
        self.nats_url
            .iter()
            .map(|u| u.0.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A `nats://` (or `tls://`) server address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct NatsUrl(pub Url);

impl TryFrom<String> for NatsUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let url = Url::parse(&value)
            .map_err(|err| format!("expected a nats://host:port URL, got {value:?}: {err}"))?;
        if !matches!(url.scheme(), "nats" | "tls") || url.host_str().is_none() {
            return Err(format!("expected a nats://host:port URL, got {value:?}"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "credentials do not belong in the file: set {NATS_USER_ENV} and \
                 {NATS_PASSWORD_ENV}, {NATS_TOKEN_ENV} or {NATS_CREDS_ENV} instead"
            ));
        }
        Ok(NatsUrl(url))
    }
}

/// `[storage.object_store]`: the bucket closed WARC files are uploaded to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectStoreConfig {
    /// `s3://bucket/prefix`: the prefix may be empty.
    pub url: S3Url,
    /// The server's address when it is not AWS (`http://127.0.0.1:9000`).
    #[serde(default)]
    pub endpoint: Option<Url>,
    #[serde(default = "default_region")]
    pub region: String,
    /// Allows an `http://` endpoint (a local server); https otherwise.
    #[serde(default)]
    pub allow_http: bool,
    /// Bytes of uploaded WARC files kept on the local disk; older ones are read with ranged GETs.
    #[serde(default = "default_local_cache_bytes")]
    pub local_cache_bytes: u64,
}

/// `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct S3Url {
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl TryFrom<String> for S3Url {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let expected = || format!("expected s3://bucket/prefix, got {value:?}");
        let rest = value.strip_prefix("s3://").ok_or_else(expected)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(format!(
                "{}: a bucket name is 3 to 63 lowercase letters, digits, '-' or '.'",
                expected()
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == "..") {
            return Err(format!("{}: the prefix may not hold \"..\"", expected()));
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Checks across keys; the key at fault and what is wrong.
pub(super) fn validate(
    cluster: Option<&ClusterConfig>,
    object_store: Option<&ObjectStoreConfig>,
) -> Result<(), (String, String)> {
    if let Some(cluster) = cluster {
        if cluster.nats_url.is_empty() {
            return Err((
                "cluster.nats_url".into(),
                "expected at least one nats://host:port".into(),
            ));
        }
        if cluster.node_id.as_str().len() > 32 {
            return Err((
                "cluster.node_id".into(),
                "expected at most 32 characters (it is part of every WARC file's name)".into(),
            ));
        }
        if cluster.ack_wait_secs < 3 {
            return Err((
                "cluster.ack_wait_secs".into(),
                "expected at least 3 (a worker signs of life every third of it)".into(),
            ));
        }
        if cluster.max_deliver < 1 {
            return Err(("cluster.max_deliver".into(), "expected at least 1".into()));
        }
        if !(1..=5).contains(&cluster.replicas) {
            return Err((
                "cluster.replicas".into(),
                "expected 1 to 5 (JetStream's limit)".into(),
            ));
        }
    }
    if let Some(store) = object_store {
        if let Some(endpoint) = &store.endpoint {
            match endpoint.scheme() {
                "https" => {}
                "http" if store.allow_http => {}
                "http" => {
                    return Err((
                        "storage.object_store.endpoint".into(),
                        "an http:// endpoint needs allow_http = true (for a local server)".into(),
                    ));
                }
                _ => {
                    return Err((
                        "storage.object_store.endpoint".into(),
                        format!("expected an http(s) URL, got {endpoint}"),
                    ));
                }
            }
        }
        if store.region.trim().is_empty() {
            return Err((
                "storage.object_store.region".into(),
                "expected a region such as \"us-east-1\"".into(),
            ));
        }
    }
    Ok(())
}

fn one_or_many<'de, D>(deserializer: D) -> Result<Vec<NatsUrl>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    // Read as a string or a list of strings, then check each: an untagged enum would hide why.
    let value = toml::Value::deserialize(deserializer)?;
    let strings: Vec<String> = match value {
        toml::Value::String(one) => vec![one],
        toml::Value::Array(many) => many
            .into_iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s),
                other => Err(serde::de::Error::custom(format!(
                    "expected a nats://host:port string, got {other}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a nats://host:port string or a list of them, got {other}"
            )));
        }
    };
    strings
        .into_iter()
        .map(|s| NatsUrl::try_from(s).map_err(serde::de::Error::custom))
        .collect()
}

fn default_ack_wait_secs() -> u64 {
    DEFAULT_ACK_WAIT_SECS
}
fn default_max_deliver() -> i64 {
    DEFAULT_MAX_DELIVER
}
fn default_retry_secs() -> u64 {
    DEFAULT_RETRY_SECS
}
fn default_replicas() -> usize {
    DEFAULT_REPLICAS
}
fn default_region() -> String {
    DEFAULT_REGION.to_string()
}
fn default_local_cache_bytes() -> u64 {
    DEFAULT_LOCAL_CACHE_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(text: &str) -> Result<ClusterConfig, String> {
        toml::from_str::<ClusterConfig>(text).map_err(|e| e.message().to_string())
    }

    #[test]
    fn one_server_or_many() {
        let one = cluster("nats_url = \"nats://127.0.0.1:4222\"\nnode_id = \"a\"").unwrap();
        assert_eq!(one.servers(), "nats://127.0.0.1:4222");
        let many = cluster(
            "nats_url = [\"nats://127.0.0.1:4222\", \"nats://127.0.0.1:4223\"]\nnode_id = \"b\"",
        )
        .unwrap();
        assert_eq!(many.nats_url.len(), 2);
        assert_eq!(many.ack_wait_secs, DEFAULT_ACK_WAIT_SECS);
    }

    #[test]
    fn credentials_never_come_from_the_file() {
        let err = cluster("nats_url = \"nats://user:secret@127.0.0.1:4222\"\nnode_id = \"a\"")
            .unwrap_err();
        assert!(err.contains(NATS_USER_ENV), "{err}");
        let err = cluster("nats_url = \"http://127.0.0.1:4222\"\nnode_id = \"a\"").unwrap_err();
        assert!(err.contains("nats://"), "{err}");
        let err =
            cluster("nats_url = \"nats://127.0.0.1:4222\"\nnode_id = \"Node A\"").unwrap_err();
        assert!(err.contains("[a-z0-9-]"), "{err}");
    }

    #[test]
    fn an_s3_url_names_a_bucket_and_a_prefix() {
        let url = S3Url::try_from("s3://gazette/archive/kg/".to_string()).unwrap();
        assert_eq!(
            (url.bucket.as_str(), url.prefix.as_str()),
            ("gazette", "archive/kg")
        );
        let url = S3Url::try_from("s3://gazette".to_string()).unwrap();
        assert_eq!(url.prefix, "");
        for bad in [
            "gazette/archive",
            "s3://Gazette/x",
            "s3://ab/x",
            "s3://gazette/../x",
        ] {
            assert!(S3Url::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_plain_http_endpoint_needs_allow_http() {
        let store = |allow: bool| ObjectStoreConfig {
            url: S3Url::try_from("s3://gazette/archive".to_string()).unwrap(),
            endpoint: Some(Url::parse("http://127.0.0.1:9000").unwrap()),
            region: DEFAULT_REGION.into(),
            allow_http: allow,
            local_cache_bytes: 0,
        };
        let refused = validate(None, Some(&store(false))).unwrap_err();
        assert_eq!(refused.0, "storage.object_store.endpoint");
        assert!(validate(None, Some(&store(true))).is_ok());
    }
}
