use super::*;

const PRIOR: &str = "MASTER SERVICES AGREEMENT\n\nThis agreement (the \"Agreement\") is made between Acme and Client.\n\n1. Definitions\n1.1 \"Services\" means the consulting services in Schedule A.\n1.2 \"Fees\" means the amounts in Schedule B.\n2. Payment\n2.1 Client shall pay the Fees within 30 days.\n(a) Late payments accrue interest at 1% per month.\n(b) Disputed amounts may be withheld.\n3. Term\n3.1 This Agreement lasts one year.\n";

const CURRENT: &str = "MASTER SERVICES AGREEMENT\n\nThis agreement (the \"Agreement\") is made between Acme and Client.\n\n1. Definitions\n1.1 \"Services\" means the consulting and training services in Schedule A.\n1.2 \"Fees\" means the amounts in Schedule B.\n2. Payment\n2.1 Client shall pay the Fees within 45 days.\n(a) Late payments accrue interest at 1% per month.\n2.2 Acme may suspend the Services for non-payment.\n3. Term\n3.1 This Agreement lasts one year.\n4. Confidentiality\n4.1 Each party keeps the other's information confidential.\n";

fn text(c: &Clause, kind: LegalRunKind) -> String {
    c.runs
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.text.as_str())
        .collect()
}

fn find<'a>(v: &'a LegalDocView, anchor: &str) -> &'a Clause {
    v.clauses
        .iter()
        .find(|c| c.anchor == anchor)
        .unwrap_or_else(|| panic!("{anchor}"))
}

/// The clause at `anchor`, which must be modified and shown rewritten
/// (at clause level, not word by word).
fn rewritten<'a>(v: &'a LegalDocView, anchor: &str) -> &'a Clause {
    let c = find(v, anchor);
    assert_eq!(c.change, ClauseChange::Modified, "{anchor}");
    assert!(c.rewritten, "{anchor} is shown word by word");
    c
}

#[test]
fn clause_numbers_and_levels() {
    let v = legal_view(CURRENT, None);
    let anchors: Vec<&str> = v.clauses.iter().map(|c| c.anchor.as_str()).collect();
    assert_eq!(
        anchors,
        ["¶1", "¶2", "1", "1.1", "1.2", "2", "2.1", "2.1(a)", "2.2", "3", "3.1", "4", "4.1"]
    );
    assert_eq!(find(&v, "2.1(a)").number.as_deref(), Some("(a)"));
    assert_eq!(find(&v, "2.1(a)").level, 3);
    assert_eq!(find(&v, "1.1").level, 2);
    assert!(!v.redline);
    assert!(v
        .clauses
        .iter()
        .all(|c| c.change == ClauseChange::Unchanged));
    let v = legal_view(
        "Section 4. Governing law\nSECTION 5: Notices\nArticle IV General\n",
        None,
    );
    let nums: Vec<&str> = v
        .clauses
        .iter()
        .filter_map(|c| c.number.as_deref())
        .collect();
    assert_eq!(nums, ["Section 4", "SECTION 5", "Article IV"]);
}

#[test]
fn word_level_redline_per_clause() {
    let v = legal_view(CURRENT, Some(PRIOR));
    assert!(v.redline);
    let c11 = find(&v, "1.1");
    assert_eq!(c11.change, ClauseChange::Modified);
    assert_eq!(text(c11, LegalRunKind::Inserted).trim(), "and training");
    assert_eq!(text(c11, LegalRunKind::Deleted), "");
    let c21 = find(&v, "2.1");
    assert_eq!(text(c21, LegalRunKind::Deleted), "30");
    assert_eq!(text(c21, LegalRunKind::Inserted), "45");
    assert_eq!(find(&v, "1.2").change, ClauseChange::Unchanged);
    assert_eq!(find(&v, "2.2").change, ClauseChange::Added);
    assert_eq!(find(&v, "4").change, ClauseChange::Added);
    // (b) was removed; it appears right after 2.1(a), all deleted.
    let pos_a = v.clauses.iter().position(|c| c.anchor == "2.1(a)").unwrap();
    let removed = &v.clauses[pos_a + 1];
    assert_eq!(removed.anchor, "2.1(b)");
    assert_eq!(removed.change, ClauseChange::Removed);
    assert!(removed.runs.iter().all(|r| r.kind == LegalRunKind::Deleted));
}

#[test]
fn renumbered_clause_is_moved_not_added() {
    let prior = "1. Alpha clause text here.\n2. Beta clause about payment terms.\n";
    let cur =
        "1. Alpha clause text here.\n2. A brand new clause.\n3. Beta clause about payment terms.\n";
    let v = legal_view(cur, Some(prior));
    assert_eq!(find(&v, "2").change, ClauseChange::Added);
    assert_eq!(
        find(&v, "3").change,
        ClauseChange::Moved {
            from: "2".into(),
            edited: false
        }
    );
}

#[test]
fn defined_terms_highlighted_at_definition_and_uses() {
    let v = legal_view(CURRENT, None);
    let terms: Vec<&str> = v.defined_terms.iter().map(|t| t.term.as_str()).collect();
    assert_eq!(terms, ["Agreement", "Services", "Fees"]);
    let services = &v.defined_terms[1];
    assert_eq!(services.defined_in.as_deref(), Some("1.1"));
    assert_eq!(services.uses, 1); // 2.2
    assert_eq!(v.defined_terms[0].uses, 1); // 3.1 ("This Agreement")
    let def = find(&v, "1.1")
        .runs
        .iter()
        .find(|r| r.term.as_deref() == Some("Services"))
        .unwrap();
    assert!(def.definition);
    let use_ = find(&v, "2.2")
        .runs
        .iter()
        .find(|r| r.term.as_deref() == Some("Services"))
        .unwrap();
    assert!(!use_.definition);
    // "SERVICES" in the title and "services" in 1.1 are not uses (case, words).
    assert!(find(&v, "¶1").runs.iter().all(|r| r.term.is_none()));
    let curly = legal_view(
        "1. The “Licensed Software” is licensed. Licensed Software may be copied.\n",
        None,
    );
    assert_eq!(curly.defined_terms[0].term, "Licensed Software");
    assert_eq!(curly.defined_terms[0].uses, 1);
}

#[test]
fn text_is_preserved_and_xss_stays_text() {
    for p in crate::xss::xss_corpus() {
        let doc = format!("1. {p}\n2. The \"Term\" is {p}\n");
        let v = legal_view(&doc, Some("1. old\n"));
        let c1: String = v
            .clauses
            .iter()
            .find(|c| c.anchor == "1" && c.change != ClauseChange::Removed)
            .unwrap()
            .runs
            .iter()
            .filter(|r| r.kind != LegalRunKind::Deleted)
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(c1, *p);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn never_panics(a in "\\PC*", b in "\\PC*") {
            let _ = legal_view(&a, Some(&b));
        }
        #[test]
        fn legalish_never_panics(a in "([0-9.()a-z\" “”A-Z]|\n|Section ){0,80}", b in "([0-9.()a-z\" A-Z]|\n){0,80}") {
            let v = legal_view(&a, Some(&b));
            // Current text survives in non-deleted runs.
            // Current text survives, in order, in the non-deleted runs (only
            // clause markers and whitespace are dropped).
            let kept: String = v.clauses.iter().filter(|c| c.change != ClauseChange::Removed)
                .flat_map(|c| c.runs.iter())
                .filter(|r| r.kind != LegalRunKind::Deleted).map(|r| r.text.as_str()).collect();
            let mut orig = a.chars().filter(|c| !c.is_whitespace());
            let is_subsequence = kept.chars().filter(|c| !c.is_whitespace()).all(|k| orig.any(|o| o == k));
            prop_assert!(is_subsequence, "{:?} not in {:?}", kept, a);
        }
    }
}

#[test]
fn rewritten_clause_is_shown_at_clause_level() {
    // The demo's title line: every word but "Draft" changed. Word by word it
    // reads "Draft v1v2 (CustomerSupplier draftcomments)".
    let prior = "Draft v1 (Customer draft)\n\n1. Payment is due in 30 days.\n";
    let cur = "Draft v2 (Supplier comments)\n\n1. Payment is due in 45 days.\n";
    let v = legal_view(cur, Some(prior));
    let title = rewritten(&v, "¶1");
    // The whole prior wording, then the whole new wording.
    let kinds: Vec<LegalRunKind> = title.runs.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [LegalRunKind::Deleted, LegalRunKind::Inserted]);
    assert_eq!(
        text(title, LegalRunKind::Deleted),
        "Draft v1 (Customer draft)"
    );
    assert_eq!(
        text(title, LegalRunKind::Inserted),
        "Draft v2 (Supplier comments)"
    );
    // A touched-up clause stays word by word.
    let pay = find(&v, "1");
    assert!(!pay.rewritten);
    assert_eq!(text(pay, LegalRunKind::Deleted), "30");
    assert_eq!(text(pay, LegalRunKind::Inserted), "45");
}

#[test]
fn scattered_edits_are_shown_at_clause_level() {
    let prior = "1. The Supplier shall deliver the goods to the Customer at its own cost within ten days of each order.\n";
    let cur = "1. The Vendor shall deliver the products to the Buyer at its own risk within ten weeks of each order.\n";
    // Five separate edits read better as a replaced clause.
    rewritten(&legal_view(cur, Some(prior)), "1");
    // One or two edits in a long clause stay inline.
    let cur2 = "1. The Supplier shall deliver the goods to the Customer at its own cost within ten weeks of each order.\n";
    assert!(!find(&legal_view(cur2, Some(prior)), "1").rewritten);
}

#[test]
fn changes_list_every_changed_clause_in_order() {
    let v = legal_view(CURRENT, Some(PRIOR));
    let changed: Vec<&str> = v
        .changes
        .iter()
        .map(|&i| v.clauses[i as usize].anchor.as_str())
        .collect();
    assert_eq!(changed, ["1.1", "2.1", "2.1(b)", "2.2", "4", "4.1"]);
    for (i, c) in v.clauses.iter().enumerate() {
        assert_eq!(
            v.changes.contains(&(i as u32)),
            c.change != ClauseChange::Unchanged,
            "{}",
            c.anchor
        );
    }
    // Without a prior version nothing changed.
    assert!(legal_view(CURRENT, None).changes.is_empty());
}
