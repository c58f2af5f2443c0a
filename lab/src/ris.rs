//! The routing data that the LPM benchmarks, the full-table test and the route-loading
//! examples read at run time (never committed): a full RIPE NCC RIS table of 2026-05-11 and a
//! day of its updates, one gzip file each per family —
//! `ris-2026-05-11-{v4,v6}.txt.gz` (a prefix a line) and
//! `ris-2026-05-11-{v4,v6}-updates.txt.gz` (`A PREFIX` or `W PREFIX` a line) — in
//! `$NETPLUMB_DATA`, by default `../shared/data` next to the workspace root.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use ipnetwork::IpNetwork;

use crate::Result;

/// The table's file name for `family` (`"v4"` or `"v6"`).
pub fn table_file(family: &str) -> String {
    format!("ris-2026-05-11-{family}.txt.gz")
}

/// The updates' file name for `family` (`"v4"` or `"v6"`).
pub fn updates_file(family: &str) -> String {
    format!("ris-2026-05-11-{family}-updates.txt.gz")
}

/// `$NETPLUMB_DATA`, else `../shared/data` next to the workspace root (made absolute when it
/// exists).
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("NETPLUMB_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))
        });
    dir.canonicalize().unwrap_or(dir)
}

/// The data lines of the gzip file at `path`, trimmed, without empty lines and `#` comments,
/// each with its line number (from 1).
fn data_lines(path: &Path) -> Result<impl Iterator<Item = Result<(usize, String)>> + '_> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    Ok(reader
        .lines()
        .enumerate()
        .filter_map(move |(n, l)| match l {
            Err(e) => Some(Err(format!("{}: {e}", path.display()).into())),
            Ok(l) => {
                let t = l.trim();
                (!t.is_empty() && !t.starts_with('#')).then(|| Ok((n + 1, t.to_string())))
            }
        }))
}

/// Calls `line` with each line of the gzip file at `path`, trimmed, skipping empty lines and
/// `#` comments. Errors name the file, and the line when `line` refused it.
pub fn for_each_line(path: &Path, mut line: impl FnMut(&str) -> Result<()>) -> Result<()> {
    for l in data_lines(path)? {
        let (n, l) = l?;
        line(&l).map_err(|e| format!("{}:{n}: {e}", path.display()))?;
    }
    Ok(())
}

/// The first `limit` IPv4 networks of the table file at `path` (lines that are not a network
/// address, host bits clear, are skipped, as are IPv6 ones).
pub fn ipv4_networks(path: &Path, limit: usize) -> Result<Vec<IpNetwork>> {
    let mut out = Vec::new();
    for l in data_lines(path)? {
        if out.len() >= limit {
            break;
        }
        let (n, l) = l?;
        let net: IpNetwork = l
            .parse()
            .map_err(|e| format!("{}:{n}: {l:?}: {e}", path.display()))?;
        if net.is_ipv4() && net.ip() == net.network() {
            out.push(net);
        }
    }
    Ok(out)
}
