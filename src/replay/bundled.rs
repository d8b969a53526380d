//! The recording of `fixtures/portal`, built into the binary: `gazette demo` needs no files.

use std::io;

use super::Recording;

const BUNDLED_MANIFEST: &str = include_str!("../../fixtures/portal/manifest.tsv");
const BUNDLED_FILES: &[(&str, &[u8])] = &[
    (
        "article-1180.html",
        include_bytes!("../../fixtures/portal/article-1180.html"),
    ),
    (
        "article-1190.html",
        include_bytes!("../../fixtures/portal/article-1190.html"),
    ),
    (
        "article-1211.html",
        include_bytes!("../../fixtures/portal/article-1211.html"),
    ),
    (
        "article-1225.html",
        include_bytes!("../../fixtures/portal/article-1225.html"),
    ),
    (
        "article-1229.html",
        include_bytes!("../../fixtures/portal/article-1229.html"),
    ),
    (
        "article-1234.html",
        include_bytes!("../../fixtures/portal/article-1234.html"),
    ),
    (
        "article-1236.html",
        include_bytes!("../../fixtures/portal/article-1236.html"),
    ),
    (
        "article-1238.html",
        include_bytes!("../../fixtures/portal/article-1238.html"),
    ),
    (
        "article-1240.html",
        include_bytes!("../../fixtures/portal/article-1240.html"),
    ),
    (
        "images/hoi-nghi-dhtt-2020-1.jpg",
        include_bytes!("../../fixtures/portal/images/hoi-nghi-dhtt-2020-1.jpg"),
    ),
    (
        "images/hoi-nghi-dhtt-2020-2.jpg",
        include_bytes!("../../fixtures/portal/images/hoi-nghi-dhtt-2020-2.jpg"),
    ),
    (
        "images/hoi-nghi-dhtt-2020-3.jpg",
        include_bytes!("../../fixtures/portal/images/hoi-nghi-dhtt-2020-3.jpg"),
    ),
    (
        "images/kcn-thanh-loc.jpg",
        include_bytes!("../../fixtures/portal/images/kcn-thanh-loc.jpg"),
    ),
    (
        "images/cua-khau-ha-tien.jpg",
        include_bytes!("../../fixtures/portal/images/cua-khau-ha-tien.jpg"),
    ),
    (
        "list-tin-ban-quan-ly-p1.html",
        include_bytes!("../../fixtures/portal/list-tin-ban-quan-ly-p1.html"),
    ),
    (
        "list-tin-ban-quan-ly-p2.html",
        include_bytes!("../../fixtures/portal/list-tin-ban-quan-ly-p2.html"),
    ),
    (
        "list-tin-ban-quan-ly-p3.html",
        include_bytes!("../../fixtures/portal/list-tin-ban-quan-ly-p3.html"),
    ),
    (
        "robots.txt",
        include_bytes!("../../fixtures/portal/robots.txt"),
    ),
];

impl Recording {
    /// The recording of `fixtures/portal`, built into the binary: `gazette demo` needs no files.
    pub fn bundled() -> io::Result<Recording> {
        Recording::from_manifest(BUNDLED_MANIFEST, "fixtures/portal/manifest.tsv", |name| {
            BUNDLED_FILES
                .iter()
                .find(|(file, _)| *file == name)
                .map(|(_, bytes)| bytes.to_vec())
                .ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("{name} is not bundled"))
                })
        })
    }
}
