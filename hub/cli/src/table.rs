//! Plain-text tables for `flotilla get`: left-aligned columns separated by three spaces,
//! as the `flux` CLI prints them.

pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let rows = vec![
            vec!["cluster-1".into(), "sample".into(), "True".into()],
            vec!["c2".into(), "flux-system".into(), "".into()],
        ];
        expect_test::expect![[r#"
            CLUSTER     NAME          READY
            cluster-1   sample        True
            c2          flux-system
        "#]]
        .assert_eq(&render(&["CLUSTER", "NAME", "READY"], &rows));
    }
}
