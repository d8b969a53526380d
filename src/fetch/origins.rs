//! Origins reached at another address: the demo replays the portal on loopback, yet every URL
//! gazette checks, fetches robots.txt for, captures and republishes stays the portal's own.
//!
//! Only the request on the wire goes elsewhere (scheme, host and port replaced); a redirect to
//! the other address is read back as the portal's. Allowed hosts and robots.txt still apply to
//! the portal's URLs.

use url::Url;

/// The origins a fetcher reaches elsewhere, e.g. `https://bqlkkt.kiengiang.gov.vn` at
/// `http://127.0.0.1:4321` (the demo's replay, given to the daemon through `Startup`).
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// (the origin as serialised, the address its requests go to)
    routes: Vec<(String, Url)>,
}

impl Origins {
    /// Adds (or replaces) the route of `origin`.
    pub fn add(&mut self, origin: &Url, address: &Url) {
        let origin = origin.origin().ascii_serialization();
        self.routes.retain(|(o, _)| *o != origin);
        self.routes.push((origin, address.clone()));
    }

    /// Where a request for `url` is sent.
    pub fn wire(&self, url: &Url) -> Url {
        let origin = url.origin().ascii_serialization();
        match self.routes.iter().find(|(o, _)| *o == origin) {
            Some((_, address)) => with_origin(url, address),
            None => url.clone(),
        }
    }

    /// The URL gazette knows for one that names a routed address (a redirect's `Location`).
    pub fn logical(&self, url: &Url) -> Url {
        let origin = url.origin();
        match self.routes.iter().find(|(_, a)| a.origin() == origin) {
            Some((portal, _)) => Url::parse(portal)
                .map(|portal| with_origin(url, &portal))
                .unwrap_or_else(|_| url.clone()),
            None => url.clone(),
        }
    }
}

/// `url` with the scheme, host and port of `origin`.
fn with_origin(url: &Url, origin: &Url) -> Url {
    let mut out = origin.clone();
    out.set_path(url.path());
    out.set_query(url.query());
    out.set_fragment(url.fragment());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_to_the_address_and_redirects_come_back_as_the_portal() {
        let portal = Url::parse("https://portal.example/").unwrap();
        let replay = Url::parse("http://127.0.0.1:4321/").unwrap();
        let mut origins = Origins::default();
        origins.add(&portal, &replay);
        let page = Url::parse("https://portal.example/Pages/a.aspx?ItemID=1").unwrap();
        let wire = origins.wire(&page);
        assert_eq!(wire.as_str(), "http://127.0.0.1:4321/Pages/a.aspx?ItemID=1");
        assert_eq!(origins.logical(&wire), page);
        let other = Url::parse("https://other.example/x").unwrap();
        assert_eq!(origins.wire(&other), other);
        assert_eq!(origins.logical(&other), other);
    }
}
