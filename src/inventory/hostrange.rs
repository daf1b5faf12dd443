//! Host range patterns as Ansible expands them: `node[01:03]`, `rack[a:c]-n[1:9:2]`.

/// Expands every `[start:end(:stride)]` in a host name. Numeric ranges keep
/// the zero padding of `start`; alphabetic ranges take single letters.
pub fn expand_host_pattern(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        if pattern.contains(']') {
            return Err(format!("`]` without `[` in host pattern `{pattern}`"));
        }
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| i + open)
        .ok_or_else(|| format!("unclosed `[` in host pattern `{pattern}`"))?;
    let head = &pattern[..open];
    let body = &pattern[open + 1..close];
    let tail = &pattern[close + 1..];
    let items = expand_range(body).map_err(|e| format!("{e} in host pattern `{pattern}`"))?;
    let tails = expand_host_pattern(tail)?;
    let mut out = Vec::with_capacity(items.len() * tails.len());
    for item in &items {
        for t in &tails {
            out.push(format!("{head}{item}{t}"));
        }
    }
    Ok(out)
}

fn expand_range(body: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = body.split(':').collect();
    let (start, end, stride) = match parts.as_slice() {
        [s, e] => (*s, *e, 1usize),
        [s, e, st] => {
            let stride: usize = st
                .parse()
                .map_err(|_| format!("range stride `{st}` is not a positive number"))?;
            if stride == 0 {
                return Err("range stride must not be 0".to_string());
            }
            (*s, *e, stride)
        }
        _ => {
            return Err(format!(
                "range `[{body}]` must look like `[start:end]` or `[start:end:stride]`"
            ));
        }
    };
    if end.is_empty() {
        return Err(format!("range `[{body}]` has no end"));
    }
    let start = if start.is_empty() { "0" } else { start };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let alpha = |s: &str| s.len() == 1 && s.bytes().all(|b| b.is_ascii_alphabetic());
    if numeric(start) && numeric(end) {
        let a: u64 = start
            .parse()
            .map_err(|_| format!("range start `{start}` is too large"))?;
        let b: u64 = end
            .parse()
            .map_err(|_| format!("range end `{end}` is too large"))?;
        if b < a {
            return Err(format!("range `[{body}]` ends before it starts"));
        }
        if (b - a) / stride as u64 > 100_000 {
            return Err(format!("range `[{body}]` names more than 100000 hosts"));
        }
        let width = if start.len() > 1 && start.starts_with('0') {
            start.len()
        } else {
            0
        };
        Ok((a..=b)
            .step_by(stride)
            .map(|n| format!("{n:0width$}"))
            .collect())
    } else if alpha(start) && alpha(end) {
        let (a, b) = (start.as_bytes()[0], end.as_bytes()[0]);
        if b < a {
            return Err(format!("range `[{body}]` ends before it starts"));
        }
        Ok((a..=b)
            .step_by(stride)
            .map(|c| (c as char).to_string())
            .collect())
    } else {
        Err(format!(
            "range `[{body}]` must be numbers (`[01:10]`) or single letters (`[a:f]`) on both ends"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::expand_host_pattern as x;

    #[test]
    fn ranges() {
        assert_eq!(x("node[01:03]").unwrap(), ["node01", "node02", "node03"]);
        assert_eq!(x("n[1:10:4]").unwrap(), ["n1", "n5", "n9"]);
        assert_eq!(x("r[a:c]").unwrap(), ["ra", "rb", "rc"]);
        assert_eq!(x("r[a:b]-[1:2]").unwrap(), ["ra-1", "ra-2", "rb-1", "rb-2"]);
        assert_eq!(x("plain").unwrap(), ["plain"]);
        assert_eq!(x("h[:2]").unwrap(), ["h0", "h1", "h2"]);
        assert!(x("h[3:1]").unwrap_err().contains("ends before it starts"));
        assert!(x("h[1:3").unwrap_err().contains("unclosed"));
        assert!(x("h[a:3]").unwrap_err().contains("numbers"));
        assert!(x("h[1:3:0]").unwrap_err().contains("stride"));
    }
}
