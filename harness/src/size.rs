//! Sizes in bytes as people write them (`64MiB`, `1.5 GB`) and as the harness prints them.

/// Parses `64MiB`, `64 MiB`, `1.5GB` or a plain number of bytes; a size past 16 EiB (which
/// bytesize saturates to `u64::MAX`) is an error, not the largest size.
pub(crate) fn parse(text: &str) -> Result<u64, String> {
    let bytes = text
        .trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())?;
    if bytes == u64::MAX {
        return Err("it is more than 16 EiB, the most a 64-bit size holds".to_owned());
    }
    Ok(bytes)
}

/// `512 B`, `64 MiB`, `1.5 MiB`: binary units, whole where the size is.
pub(crate) fn format(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    let mut scale = 1024u64;
    while unit + 1 < UNITS.len() && bytes >= scale * 1024 {
        scale *= 1024;
        unit += 1;
    }
    if bytes.is_multiple_of(scale) {
        format!("{} {}", bytes / scale, UNITS[unit])
    } else {
        format!("{:.1} {}", bytes as f64 / scale as f64, UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_either_unit_system() {
        assert_eq!(parse("64MiB"), Ok(64 << 20));
        assert_eq!(parse(" 64 MiB "), Ok(64 << 20));
        assert_eq!(parse("1KB"), Ok(1000));
        assert_eq!(parse("4096"), Ok(4096));
        assert!(parse("lots").is_err());
        assert_eq!(
            parse("99999999999999999999GiB"),
            Err("it is more than 16 EiB, the most a 64-bit size holds".to_owned())
        );
        assert!(parse("99999999999999999999").is_err());
    }

    #[test]
    fn sizes_print_whole_where_they_are() {
        assert_eq!(format(0), "0 B");
        assert_eq!(format(1023), "1023 B");
        assert_eq!(format(64 << 20), "64 MiB");
        assert_eq!(format(3 << 19), "1.5 MiB");
        assert_eq!(format(1 << 40), "1 TiB");
    }
}
