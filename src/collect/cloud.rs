//! Which hosts to talk to: the login authority, Microsoft Graph and ARM, per sovereign cloud
//! (`../shared/reference/azure-apis.md` section 5), with explicit overrides for each host. The
//! overrides are how users reach private or proxied endpoints, and how the tests reach a fake Azure.

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;
use url::Url;

/// A national cloud. Tokens are not interchangeable between clouds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Cloud {
    /// Azure public cloud (login.microsoftonline.com, graph.microsoft.com, management.azure.com).
    #[default]
    Public,
    /// Azure US Government (GCC High).
    Usgov,
    /// Azure operated by 21Vianet (China).
    China,
}

/// The three hosts a collection uses, and the token scopes derived from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Login authority, e.g. `https://login.microsoftonline.com` (must be https).
    pub authority: Url,
    /// Graph root without version, e.g. `https://graph.microsoft.com`.
    pub graph: Url,
    /// ARM root, e.g. `https://management.azure.com`.
    pub arm: Url,
    /// `{graph}/.default`: Graph and ARM need separate tokens (one resource per token).
    pub graph_scope: String,
    pub arm_scope: String,
}

impl Endpoints {
    /// The endpoints of `cloud`, with any of the three hosts overridden.
    pub fn new(cloud: Cloud, authority: Option<&str>, graph: Option<&str>, arm: Option<&str>) -> Result<Endpoints> {
        let (d_authority, d_graph, d_arm, d_arm_audience) = match cloud {
            Cloud::Public => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://management.azure.com",
                "https://management.azure.com",
            ),
            Cloud::Usgov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://management.usgovcloudapi.net",
                "https://management.usgovcloudapi.net",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
            ),
        };
        let authority = parse_host("authority host", authority.unwrap_or(d_authority))?;
        if authority.scheme() != "https" {
            bail!("the authority host must use https (Entra ID only issues tokens over TLS): {authority}");
        }
        let graph = parse_host("Graph URL", graph.unwrap_or(d_graph))?;
        let arm_overridden = arm.is_some();
        let arm = parse_host("ARM URL", arm.unwrap_or(d_arm))?;
        let graph_scope = format!("{}/.default", trim(&graph));
        // An overridden ARM host is its own audience; a national cloud's audience is fixed.
        let arm_scope =
            if arm_overridden { format!("{}/.default", trim(&arm)) } else { format!("{d_arm_audience}/.default") };
        Ok(Endpoints { authority, graph, arm, graph_scope, arm_scope })
    }

    /// `https://graph.../v1.0` + `path` (which starts with `/`).
    pub fn graph_url(&self, path: &str) -> String {
        format!("{}/v1.0{path}", trim(&self.graph))
    }

    /// `https://management...` + `path` (which starts with `/`).
    pub fn arm_url(&self, path: &str) -> String {
        format!("{}{path}", trim(&self.arm))
    }
}

fn trim(u: &Url) -> &str {
    u.as_str().trim_end_matches('/')
}

fn parse_host(what: &str, s: &str) -> Result<Url> {
    let url = Url::parse(s.trim()).with_context(|| format!("the {what} {s:?} is not a URL"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        bail!("the {what} {s:?} must be an http(s) URL with a host");
    }
    if url.query().is_some() {
        bail!("the {what} {s:?} must not have a query string");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_clouds_have_their_own_hosts_and_audiences() {
        let e = Endpoints::new(Cloud::Usgov, None, None, None).unwrap();
        assert_eq!(e.graph_scope, "https://graph.microsoft.us/.default");
        assert_eq!(e.arm_scope, "https://management.usgovcloudapi.net/.default");
        assert_eq!(e.graph_url("/users"), "https://graph.microsoft.us/v1.0/users");
        let e = Endpoints::new(Cloud::China, None, None, None).unwrap();
        assert_eq!(e.authority.as_str(), "https://login.chinacloudapi.cn/");
        assert_eq!(e.arm_url("/subscriptions"), "https://management.chinacloudapi.cn/subscriptions");
    }

    #[test]
    fn overrides_replace_hosts_and_scopes() {
        let e = Endpoints::new(
            Cloud::Public,
            Some("https://127.0.0.1:1"),
            Some("https://127.0.0.1:2/"),
            Some("https://127.0.0.1:3"),
        )
        .unwrap();
        assert_eq!(e.graph_scope, "https://127.0.0.1:2/.default");
        assert_eq!(e.arm_scope, "https://127.0.0.1:3/.default");
        assert_eq!(e.graph_url("/users"), "https://127.0.0.1:2/v1.0/users");
    }

    #[test]
    fn a_plain_http_authority_is_refused() {
        let err = Endpoints::new(Cloud::Public, Some("http://login.example"), None, None).unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        assert!(Endpoints::new(Cloud::Public, None, Some("not a url"), None).is_err());
    }
}
