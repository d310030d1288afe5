//! What may be shortened. A short link makes a *browser* go somewhere; the service itself
//! never fetches the target. The rules still refuse targets that point into private networks
//! (`localhost`, 10.x, 169.254.169.254, …): a shortener that serves those helps phishing and
//! server-side request forgery against whoever follows or previews the link.
//!
//! DNS is deliberately not resolved here: it would add latency, fail on offline machines, and
//! prove little (the name can resolve elsewhere a second later). Literal IPs are checked in
//! every spelling the URL parser normalises: `http://2130706433/`, `http://0x7f.1/`,
//! `http://[::ffff:127.0.0.1]/` are all 127.0.0.1.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

pub const MAX_LENGTH: usize = 2048;

/// Where links may point, from configuration.
#[derive(Debug, Clone)]
pub struct TargetPolicy {
    /// The service's own host (and port): targets there would loop.
    pub own_origin: Option<(String, u16)>,
    pub allow_private: bool,
}

impl TargetPolicy {
    pub fn new(public_url: &str, allow_private: bool) -> Self {
        let own_origin = Url::parse(public_url).ok().and_then(|u| {
            let host = canonical_host(u.host_str()?);
            Some((host, u.port_or_known_default()?))
        });
        Self {
            own_origin,
            allow_private,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl(String);

impl TargetUrl {
    pub fn parse(raw: &str, policy: &TargetPolicy) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is required");
        }
        if raw.len() > MAX_LENGTH {
            return Err("must be at most 2048 characters");
        }
        let url = Url::parse(raw).map_err(|_| "must be an absolute http or https URL")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must use http or https");
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials");
        }
        let host = url.host().ok_or("must have a host")?;
        if let Some((own_host, own_port)) = &policy.own_origin {
            // `sho.rt.` is `sho.rt` (the root's trailing dot), and the parser has already
            // dropped a default port (`:443` on https), so both spellings loop alike.
            let same_host = url
                .host_str()
                .is_some_and(|h| canonical_host(h) == *own_host);
            // Its own port; and a service on a standard web port is on both: behind the usual
            // http → https redirect, `http://sho.rt/x` comes back here as `https://sho.rt/x`.
            let web = |port: u16| matches!(port, 80 | 443);
            let port = url.port_or_known_default();
            let loops = port == Some(*own_port) || (web(*own_port) && port.is_some_and(web));
            if same_host && loops {
                return Err("must not point at this service");
            }
        }
        if !policy.allow_private {
            match host {
                Host::Domain(domain) => {
                    let domain = canonical_host(domain);
                    if !domain.contains('.') || is_local_name(&domain) {
                        return Err("must not point at a local or internal host");
                    }
                }
                Host::Ipv4(ip) if is_private_v4(ip) => {
                    return Err("must not point at a private IP address");
                }
                Host::Ipv6(ip) if is_private_v6(ip) => {
                    return Err("must not point at a private IP address");
                }
                _ => {}
            }
        }
        // The parser's normalised form: what browsers will actually request.
        let normalised = url.to_string();
        if normalised.len() > MAX_LENGTH {
            return Err("must be at most 2048 characters");
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A host name as DNS sees it: lower-case, without the trailing dot of the root.
fn canonical_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Names that only ever mean something inside a private network, whatever DNS says: the
/// special-use and private-use suffixes (RFC 6761 `localhost`, RFC 6762 mDNS `local`, RFC 8375
/// `home.arpa`, ICANN's reserved `internal` — where the clouds' metadata services live —, the
/// `localdomain` of many `/etc/hosts`), and Kubernetes' in-cluster names (`svc`,
/// `cluster.local`). `name` is canonical (see [`canonical_host`]).
fn is_local_name(name: &str) -> bool {
    const SUFFIXES: [&str; 6] = [
        "localhost",
        "local",
        "localdomain",
        "home.arpa",
        "internal",
        "svc",
    ];
    SUFFIXES.iter().any(|suffix| {
        name == *suffix
            || name
                .strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()            // 127.0.0.0/8
        || ip.is_private()      // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()   // 169.254/16, including the 169.254.169.254 metadata service
        || ip.is_unspecified()  // 0.0.0.0
        || a == 0               // 0.0.0.0/8 ("this network")
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 carrier-grade NAT (Alibaba metadata)
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24 IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15 benchmarking networks
        || ip.is_broadcast()
        || ip.is_multicast()
        || a >= 240 // reserved
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_private_v4(v4);
    }
    let s = ip.segments();
    // Prefixes that carry an IPv4 address, which a gateway on the way turns back into IPv4:
    // NAT64 64:ff9b::/96 (last 32 bits) and 6to4 2002::/16 (bits 16–48).
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_private_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return is_private_v4(embedded_v4(s[1], s[2]));
    }
    // IPv4-translated ::ffff:0:a.b.c.d (::ffff:0:0/96, SIIT), as `::ffff:a.b.c.d` above.
    if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return is_private_v4(embedded_v4(s[6], s[7]));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local (AWS metadata fd00:ec2::254)
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated, still routed in places)
        || s[..3] == [0x64, 0xff9b, 1] // 64:ff9b:1::/48 NAT64 for local networks
        || s[..2] == [0x2001, 0] // 2001::/32 Teredo (tunnels to an IPv4 host)
        || s[..6] == [0; 6] // ::a.b.c.d (deprecated IPv4-compatible)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> TargetPolicy {
        TargetPolicy::new("https://sho.rt", false)
    }

    fn check(raw: &str) -> Result<String, &'static str> {
        TargetUrl::parse(raw, &policy()).map(TargetUrl::into_inner)
    }

    #[test]
    fn ordinary_urls_are_accepted_and_normalised() {
        assert_eq!(
            check("https://example.com"),
            Ok("https://example.com/".into())
        );
        assert_eq!(
            check("HTTP://Example.COM/a?b=c#d"),
            Ok("http://example.com/a?b=c#d".into())
        );
        assert!(check("https://8.8.8.8/dns").is_ok());
        assert!(check("https://[2001:4860:4860::8888]/").is_ok());
        // Public IPv4 through NAT64 and 6to4 is as fine as the address itself.
        assert!(check("https://[64:ff9b::808:808]/").is_ok());
        assert!(check("https://[2002:808:808::1]/").is_ok());
    }

    #[test]
    fn only_http_and_https() {
        for bad in [
            "ftp://example.com",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "example.com",
            "//example.com",
            "",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn length_limit() {
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(check(&long), Err("must be at most 2048 characters"));
    }

    #[test]
    fn local_and_private_targets_are_refused_in_every_spelling() {
        for bad in [
            "http://localhost/",
            "http://LOCALHOST:8080/",
            "http://app.localhost/",
            "http://intranet/",
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://10.0.0.5/",
            "http://172.16.3.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.100.100.200/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "http://[::]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b:1::1]/",
            "http://[2002:c0a8:101::1]/",
            "http://[fec0::1]/",
            "http://metadata.google.internal/",
            "http://user:pw@example.com/",
            "http://localhost./",
            "http://192.0.0.170/",
            "http://198.18.0.1/",
            "http://198.19.255.255/",
            "http://[2001::1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[::ffff:0:7f00:1]/",
            "http://[::ffff:0:a9fe:a9fe]/",
            "http://localhost.localdomain/",
            "http://instance-data.ec2.internal/",
            "http://metadata.azure.internal/",
            "http://anything.internal./",
            "http://printer.local/",
            "http://nas.home.arpa/",
            "http://box.localdomain/",
            "http://redis.default.svc/",
            "http://redis.default.svc.cluster.local/",
        ] {
            assert!(check(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn links_to_the_service_itself_are_refused() {
        assert_eq!(
            check("https://sho.rt/abc"),
            Err("must not point at this service")
        );
        assert_eq!(
            check("https://SHO.RT:443/abc"),
            Err("must not point at this service")
        );
        for spelling in [
            "https://sho.rt./abc",
            "https://sho.rt.:443/abc",
            "https://Sho.Rt./",
        ] {
            assert_eq!(
                check(spelling),
                Err("must not point at this service"),
                "{spelling}"
            );
        }
        assert!(
            check("https://sho.rt:8443/abc").is_ok(),
            "another port is another service"
        );
        // Plain http to the same host: the usual redirect to https makes it a loop.
        for spelling in [
            "http://sho.rt/x",
            "http://sho.rt:80/x",
            "https://sho.rt:443/x",
        ] {
            assert_eq!(
                check(spelling),
                Err("must not point at this service"),
                "{spelling}"
            );
        }
        // A service on another port does not own the host's web ports.
        let elsewhere = TargetPolicy::new("https://sho.rt:8443", false);
        assert!(TargetUrl::parse("https://sho.rt/x", &elsewhere).is_ok());
        assert!(TargetUrl::parse("https://sho.rt:8443/x", &elsewhere).is_err());
        // Names that merely end like a local suffix are public.
        for fine in [
            "https://notlocal.com/",
            "https://my-internal.com/",
            "https://svc.example.com/",
            "https://[::ffff:0:808:808]/",
        ] {
            assert!(check(fine).is_ok(), "{fine}");
        }
        // A public URL written with the trailing dot protects itself as well.
        let dotted = TargetPolicy::new("https://sho.rt./", false);
        assert!(TargetUrl::parse("https://sho.rt/x", &dotted).is_err());
    }

    #[test]
    fn private_targets_can_be_allowed_for_demos() {
        let open = TargetPolicy::new("https://sho.rt", true);
        assert!(TargetUrl::parse("http://localhost:3000/", &open).is_ok());
        assert!(TargetUrl::parse("http://10.0.0.1/", &open).is_ok());
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in any::<String>()) {
            let _ = check(&raw);
        }

        #[test]
        fn every_loopback_ipv4_is_refused(b in 0u8.., c in 0u8.., d in 0u8..) {
            let raw = format!("http://127.{b}.{c}.{d}/");
            prop_assert!(check(&raw).is_err());
        }
    }
}
