//! Integration domains: parse and normalise the base URL a credential may be sent to.
//!
//! The token is only ever sent to this origin, so validation is strict: https only, Okta's
//! own domains unless the admin says the org uses a custom domain, no `-admin` host, no
//! path/query/fragment/userinfo, no IP literals. Plain http is allowed only on loopback and
//! only when explicitly asked for (the simulator).

use std::net::IpAddr;

/// Domains Okta serves orgs under (API-NOTES §1).
const OKTA_SUFFIXES: [&str; 5] = [
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
    "okta.mil",
];

/// How strict [`IntegrationDomain::parse_okta`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DomainOptions {
    /// The org uses a customised domain (any host name is accepted, still https only).
    pub custom_domain: bool,
    /// Allow `http://` and ports on loopback hosts (the simulator, tests).
    pub allow_insecure_loopback: bool,
}

/// A validated integration base URL (scheme + host [+ port for loopback]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationDomain {
    url: url::Url,
    /// Normalised text form, no trailing slash.
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("--domain: {0}")]
    Invalid(String),
}

fn bad<T>(msg: impl Into<String>) -> Result<T, DomainError> {
    Err(DomainError::Invalid(msg.into()))
}

fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

impl IntegrationDomain {
    /// Parse what an admin typed as the Okta org URL (`acme.okta.com`, `https://acme.okta.com/`).
    pub fn parse_okta(
        input: &str,
        options: DomainOptions,
    ) -> Result<IntegrationDomain, DomainError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return bad("the domain is empty; give your Okta org URL, e.g. https://acme.okta.com");
        }
        if trimmed.chars().any(char::is_whitespace) {
            return bad(format!(
                "{trimmed:?} contains spaces; give your Okta org URL, e.g. https://acme.okta.com"
            ));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_string()
        } else {
            format!("https://{trimmed}")
        };
        let url = match url::Url::parse(&with_scheme) {
            Ok(u) => u,
            Err(e) => {
                return bad(format!(
                    "{trimmed:?} is not a URL ({e}); give your Okta org URL, e.g. https://acme.okta.com"
                ));
            }
        };
        let host = match url.host() {
            Some(h) => h,
            None => {
                return bad(format!(
                    "{trimmed:?} has no host; give your Okta org URL, e.g. https://acme.okta.com"
                ));
            }
        };
        let loopback = is_loopback_host(&host);
        match url.scheme() {
            "https" => {}
            "http" if loopback && options.allow_insecure_loopback => {}
            "http" if loopback => {
                return bad(format!(
                    "{trimmed:?} uses plain http; http is only allowed for a local simulator with --allow-insecure-loopback"
                ));
            }
            "http" => {
                return bad(format!(
                    "{trimmed:?} uses plain http; the API token must only travel over https: use https://{}",
                    url.host_str().unwrap_or_default()
                ));
            }
            other => {
                return bad(format!(
                    "{trimmed:?} uses the scheme {other:?}; use https://, e.g. https://acme.okta.com"
                ));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return bad(
                "the URL contains a user name or password; remove them and give only https://<org host>",
            );
        }
        if url.path() != "/" && !url.path().is_empty() {
            return bad(format!(
                "{trimmed:?} has a path ({}); give only the org host, e.g. https://acme.okta.com (Steward adds /api/v1/...)",
                url.path()
            ));
        }
        if url.query().is_some() {
            return bad(format!(
                "{trimmed:?} has a query string; give only the org host, e.g. https://acme.okta.com"
            ));
        }
        if url.fragment().is_some() {
            return bad(format!(
                "{trimmed:?} has a fragment (#...); give only the org host, e.g. https://acme.okta.com"
            ));
        }
        let allow_loopback = loopback && options.allow_insecure_loopback;
        match host {
            url::Host::Ipv4(_) | url::Host::Ipv6(_) if !allow_loopback => {
                return bad(format!(
                    "{trimmed:?} is an IP address; give the org host name, e.g. https://acme.okta.com (IP addresses are only allowed for a local simulator with --allow-insecure-loopback)"
                ));
            }
            _ => {}
        }
        if url.port().is_some() && !allow_loopback {
            return bad(format!(
                "{trimmed:?} has a port; Okta orgs are served on the default https port: use https://{}",
                url.host_str().unwrap_or_default()
            ));
        }
        if !allow_loopback {
            let name = url
                .host_str()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            // IP-looking names that `url` kept as domains (e.g. "1.2.3") are refused too.
            if name.parse::<IpAddr>().is_ok() {
                return bad(format!(
                    "{trimmed:?} is an IP address; give the org host name, e.g. https://acme.okta.com"
                ));
            }
            let first = name.split('.').next().unwrap_or_default();
            if let Some(org) = first.strip_suffix("-admin") {
                let rest = &name[first.len()..];
                return bad(format!(
                    "{name} is the Admin Console host; the API is served on the org host: use https://{org}{rest}"
                ));
            }
            let okta_host = OKTA_SUFFIXES
                .iter()
                .any(|s| name.ends_with(&format!(".{s}")));
            if !okta_host && !options.custom_domain {
                return bad(format!(
                    "{name} is not an Okta domain (*.okta.com, *.oktapreview.com, *.okta-emea.com, *.okta-gov.com, *.okta.mil); \
                     if your org uses a custom domain, add --custom-domain"
                ));
            }
            if !name.contains('.') {
                return bad(format!(
                    "{name} is not a full host name; give your Okta org URL, e.g. https://acme.okta.com"
                ));
            }
        }
        let text = url.as_str().trim_end_matches('/').to_string();
        Ok(IntegrationDomain { url, text })
    }

    /// Parse what an admin typed as the OneTrust tenant URL: `https://acme.my.onetrust.com`,
    /// `acme.onetrust.com`, or a regional host such as `app-eu.onetrust.com` (API-NOTES §1:
    /// every host ends in `.onetrust.com`; Steward adds `/api/...`). https only; `http://` on
    /// loopback with `allow_insecure_loopback` (the simulator). `custom_domain` accepts any
    /// https host name (a tenant behind its own name).
    pub fn parse_onetrust(
        input: &str,
        options: DomainOptions,
    ) -> Result<IntegrationDomain, DomainError> {
        const EXAMPLE: &str = "https://acme.my.onetrust.com or https://app-eu.onetrust.com";
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return bad(format!(
                "the domain is empty; give your OneTrust URL, e.g. {EXAMPLE}"
            ));
        }
        if trimmed.chars().any(char::is_whitespace) {
            return bad(format!(
                "{trimmed:?} contains spaces; give your OneTrust URL, e.g. {EXAMPLE}"
            ));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_string()
        } else {
            format!("https://{trimmed}")
        };
        let url = match url::Url::parse(&with_scheme) {
            Ok(u) => u,
            Err(e) => {
                return bad(format!(
                    "{trimmed:?} is not a URL ({e}); give your OneTrust URL, e.g. {EXAMPLE}"
                ));
            }
        };
        let Some(host) = url.host() else {
            return bad(format!(
                "{trimmed:?} has no host; give your OneTrust URL, e.g. {EXAMPLE}"
            ));
        };
        let loopback = is_loopback_host(&host);
        let allow_loopback = loopback && options.allow_insecure_loopback;
        match url.scheme() {
            "https" => {}
            "http" if allow_loopback => {}
            "http" if loopback => {
                return bad(format!(
                    "{trimmed:?} uses plain http; http is only allowed for a local simulator with --allow-insecure-loopback"
                ));
            }
            "http" => {
                return bad(format!(
                    "{trimmed:?} uses plain http; the API key must only travel over https: use https://{}",
                    url.host_str().unwrap_or_default()
                ));
            }
            other => {
                return bad(format!(
                    "{trimmed:?} uses the scheme {other:?}; use https://, e.g. {EXAMPLE}"
                ));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return bad(
                "the URL contains a user name or password; remove them and give only https://<tenant host>",
            );
        }
        if url.path() != "/" && !url.path().is_empty() {
            return bad(format!(
                "{trimmed:?} has a path ({}); give only the tenant host, e.g. {EXAMPLE} (Steward adds /api/...)",
                url.path()
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return bad(format!(
                "{trimmed:?} has a query string or fragment; give only the tenant host, e.g. {EXAMPLE}"
            ));
        }
        if matches!(host, url::Host::Ipv4(_) | url::Host::Ipv6(_)) && !allow_loopback {
            return bad(format!(
                "{trimmed:?} is an IP address; give the tenant host name, e.g. {EXAMPLE} (IP addresses are only allowed for a local simulator with --allow-insecure-loopback)"
            ));
        }
        if url.port().is_some() && !allow_loopback {
            return bad(format!(
                "{trimmed:?} has a port; OneTrust is served on the default https port: use https://{}",
                url.host_str().unwrap_or_default()
            ));
        }
        if !allow_loopback {
            let name = url
                .host_str()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if name.parse::<IpAddr>().is_ok() {
                return bad(format!(
                    "{trimmed:?} is an IP address; give the tenant host name, e.g. {EXAMPLE}"
                ));
            }
            if !name.contains('.') {
                return bad(format!(
                    "{name} is not a full host name; give your OneTrust URL, e.g. {EXAMPLE}"
                ));
            }
            let onetrust_host = name.ends_with(".onetrust.com");
            if !onetrust_host && !options.custom_domain {
                return bad(format!(
                    "{name} is not a OneTrust host (*.onetrust.com, *.my.onetrust.com, app-*.onetrust.com); \
                     if your tenant is served under its own name, add --custom-domain"
                ));
            }
        }
        let text = url.as_str().trim_end_matches('/').to_string();
        Ok(IntegrationDomain { url, text })
    }

    /// Parse a domain for `kind` (the one entry point products use).
    pub fn parse_for(
        kind: steward_model::IntegrationKind,
        input: &str,
        options: DomainOptions,
    ) -> Result<IntegrationDomain, DomainError> {
        match kind {
            steward_model::IntegrationKind::Okta => IntegrationDomain::parse_okta(input, options),
            steward_model::IntegrationKind::Onetrust => {
                IntegrationDomain::parse_onetrust(input, options)
            }
        }
    }

    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// Normalised base URL, e.g. `https://acme.okta.com` (no trailing slash).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when `other` has the same scheme, host and port (the token may be sent there).
    pub fn same_origin(&self, other: &url::Url) -> bool {
        self.url.origin() == other.origin()
    }
}

impl std::fmt::Display for IntegrationDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const STRICT: DomainOptions = DomainOptions {
        custom_domain: false,
        allow_insecure_loopback: false,
    };
    const CUSTOM: DomainOptions = DomainOptions {
        custom_domain: true,
        allow_insecure_loopback: false,
    };
    const LOOP: DomainOptions = DomainOptions {
        custom_domain: false,
        allow_insecure_loopback: true,
    };

    fn ok(input: &str, o: DomainOptions) -> String {
        IntegrationDomain::parse_okta(input, o)
            .unwrap()
            .as_str()
            .to_string()
    }
    fn err(input: &str, o: DomainOptions) -> String {
        let e = IntegrationDomain::parse_okta(input, o)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--domain: "), "{e}");
        e
    }

    #[test]
    fn bare_host_gets_https() {
        assert_eq!(ok("acme.okta.com", STRICT), "https://acme.okta.com");
    }
    #[test]
    fn full_url_kept() {
        assert_eq!(ok("https://acme.okta.com", STRICT), "https://acme.okta.com");
    }
    #[test]
    fn trailing_slash_stripped() {
        assert_eq!(
            ok("https://acme.okta.com/", STRICT),
            "https://acme.okta.com"
        );
    }
    #[test]
    fn upper_case_lowered() {
        assert_eq!(ok("HTTPS://ACME.Okta.COM", STRICT), "https://acme.okta.com");
    }
    #[test]
    fn whitespace_trimmed() {
        assert_eq!(ok("  acme.okta.com \n", STRICT), "https://acme.okta.com");
    }
    #[test]
    fn other_okta_domains() {
        assert_eq!(
            ok("dev-1.oktapreview.com", STRICT),
            "https://dev-1.oktapreview.com"
        );
        assert_eq!(
            ok("acme.okta-emea.com", STRICT),
            "https://acme.okta-emea.com"
        );
        assert_eq!(ok("acme.okta-gov.com", STRICT), "https://acme.okta-gov.com");
        assert_eq!(ok("acme.okta.mil", STRICT), "https://acme.okta.mil");
        assert_eq!(
            ok("trial-1234567.okta.com", STRICT),
            "https://trial-1234567.okta.com"
        );
    }
    #[test]
    fn admin_host_refused_with_suggestion() {
        let e = err("https://acme-admin.okta.com", STRICT);
        assert!(e.contains("https://acme.okta.com"), "{e}");
        let e = err("acme-admin.oktapreview.com", STRICT);
        assert!(e.contains("https://acme.oktapreview.com"), "{e}");
    }
    #[test]
    fn custom_domain_needs_flag() {
        let e = err("login.acme.com", STRICT);
        assert!(e.contains("--custom-domain"), "{e}");
        assert_eq!(ok("login.acme.com", CUSTOM), "https://login.acme.com");
    }
    #[test]
    fn lookalike_refused() {
        err("acme.okta.com.evil.example", STRICT);
        err("evilokta.com", STRICT);
        err("okta.com", STRICT);
    }
    #[test]
    fn http_refused() {
        let e = err("http://acme.okta.com", STRICT);
        assert!(e.contains("https://acme.okta.com"), "{e}");
        err("http://acme.okta.com", LOOP);
    }
    #[test]
    fn other_scheme_refused() {
        err("ftp://acme.okta.com", STRICT);
    }
    #[test]
    fn path_refused() {
        let e = err("https://acme.okta.com/api/v1", STRICT);
        assert!(e.contains("path"), "{e}");
        err("https://acme.okta.com/admin/dashboard", STRICT);
    }
    #[test]
    fn query_and_fragment_refused() {
        err("https://acme.okta.com?x=1", STRICT);
        err("https://acme.okta.com/#top", STRICT);
    }
    #[test]
    fn userinfo_refused() {
        err("https://user:pw@acme.okta.com", STRICT);
        err("https://user@acme.okta.com", STRICT);
    }
    #[test]
    fn ip_refused() {
        err("https://10.0.0.1", STRICT);
        err("https://10.0.0.1", CUSTOM);
        err("https://[2001:db8::1]", CUSTOM);
        err("https://127.0.0.1", STRICT);
    }
    #[test]
    fn port_refused_for_real_orgs() {
        err("https://acme.okta.com:8443", STRICT);
        err("https://acme.okta.com:8443", LOOP);
    }
    #[test]
    fn loopback_http_needs_flag() {
        let e = err("http://127.0.0.1:8080", STRICT);
        assert!(e.contains("--allow-insecure-loopback"), "{e}");
        assert_eq!(ok("http://127.0.0.1:8080", LOOP), "http://127.0.0.1:8080");
        assert_eq!(ok("http://127.0.0.1:8080/", LOOP), "http://127.0.0.1:8080");
    }
    #[test]
    fn loopback_variants() {
        assert_eq!(ok("http://localhost:3000", LOOP), "http://localhost:3000");
        assert_eq!(ok("http://[::1]:3000", LOOP), "http://[::1]:3000");
        assert_eq!(ok("http://127.1.2.3:9", LOOP), "http://127.1.2.3:9");
    }
    #[test]
    fn loopback_flag_does_not_open_other_ips() {
        err("http://192.168.1.10:8080", LOOP);
        err("https://192.168.1.10", LOOP);
    }
    #[test]
    fn empty_and_garbage_refused() {
        err("", STRICT);
        err("   ", STRICT);
        err("acme okta com", STRICT);
        err("https://", STRICT);
    }
    #[test]
    fn single_label_refused() {
        err("acme", STRICT);
    }
    #[test]
    fn same_origin() {
        let d = IntegrationDomain::parse_okta("acme.okta.com", STRICT).unwrap();
        assert!(
            d.same_origin(&url::Url::parse("https://acme.okta.com/api/v1/users?after=x").unwrap())
        );
        assert!(!d.same_origin(&url::Url::parse("https://evil.example/api/v1/users").unwrap()));
        assert!(!d.same_origin(&url::Url::parse("http://acme.okta.com/api/v1/users").unwrap()));
        assert!(
            !d.same_origin(&url::Url::parse("https://acme-admin.okta.com/api/v1/users").unwrap())
        );
    }
    fn ot_ok(input: &str, o: DomainOptions) -> String {
        IntegrationDomain::parse_onetrust(input, o)
            .unwrap()
            .as_str()
            .to_string()
    }
    fn ot_err(input: &str, o: DomainOptions) -> String {
        let e = IntegrationDomain::parse_onetrust(input, o)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--domain: "), "{e}");
        e
    }
    #[test]
    fn onetrust_tenant_hosts_accepted() {
        assert_eq!(
            ot_ok("acme.onetrust.com", STRICT),
            "https://acme.onetrust.com"
        );
        assert_eq!(
            ot_ok("https://acme.my.onetrust.com/", STRICT),
            "https://acme.my.onetrust.com"
        );
        assert_eq!(
            ot_ok("HTTPS://ACME.My.OneTrust.COM", STRICT),
            "https://acme.my.onetrust.com"
        );
        assert_eq!(
            ot_ok("  trial.onetrust.com \n", STRICT),
            "https://trial.onetrust.com"
        );
    }
    #[test]
    fn onetrust_regional_hosts_accepted() {
        for h in [
            "app.onetrust.com",
            "app-eu.onetrust.com",
            "app-de.onetrust.com",
            "app-uk.onetrust.com",
            "app-apac.onetrust.com",
            "app-au.onetrust.com",
            "uat.onetrust.com",
        ] {
            assert_eq!(ot_ok(h, STRICT), format!("https://{h}"));
        }
    }
    #[test]
    fn onetrust_lookalikes_and_other_hosts_refused() {
        let e = ot_err("acme.okta.com", STRICT);
        assert!(e.contains("--custom-domain"), "{e}");
        ot_err("onetrust.com", STRICT);
        ot_err("acme.onetrust.com.evil.example", STRICT);
        ot_err("evilonetrust.com", STRICT);
        assert_eq!(
            ot_ok("privacy.acme.com", CUSTOM),
            "https://privacy.acme.com"
        );
    }
    #[test]
    fn onetrust_insecure_and_malformed_refused() {
        let e = ot_err("http://acme.my.onetrust.com", STRICT);
        assert!(e.contains("https://acme.my.onetrust.com"), "{e}");
        ot_err("http://acme.my.onetrust.com", LOOP);
        ot_err("ftp://acme.onetrust.com", STRICT);
        let e = ot_err("https://acme.my.onetrust.com/api/scim/v2", STRICT);
        assert!(e.contains("path"), "{e}");
        ot_err("https://acme.onetrust.com?x=1", STRICT);
        ot_err("https://user:pw@acme.onetrust.com", STRICT);
        ot_err("https://acme.onetrust.com:8443", STRICT);
        ot_err("https://10.0.0.1", CUSTOM);
        ot_err("", STRICT);
        ot_err("acme onetrust", STRICT);
        ot_err("acme", CUSTOM);
    }
    #[test]
    fn onetrust_loopback_needs_flag() {
        let e = ot_err("http://127.0.0.1:8080", STRICT);
        assert!(e.contains("--allow-insecure-loopback"), "{e}");
        assert_eq!(
            ot_ok("http://127.0.0.1:8080/", LOOP),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            ot_ok("http://localhost:3000", LOOP),
            "http://localhost:3000"
        );
        ot_err("http://192.168.1.10:8080", LOOP);
    }
    #[test]
    fn every_error_names_the_field() {
        for bad in [
            "",
            "http://x.okta.com",
            "acme-admin.okta.com",
            "x.example.com",
            "https://1.2.3.4",
            "https://a.okta.com/p",
        ] {
            err(bad, STRICT);
        }
    }
}
