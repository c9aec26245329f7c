use super::*;

fn slice(name: &str, position: Option<[f64; 3]>, instance: Option<i64>) -> Slice {
    Slice {
        location: Location::File(0),
        name: name.into(),
        header: DicomHeader {
            rows: 4,
            cols: 4,
            frames: 1,
            position,
            orientation: position.map(|_| [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            instance,
            ..DicomHeader::default()
        },
        position: None,
    }
}

fn names(s: &[Slice]) -> Vec<&str> {
    s.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn position_decides_over_instance_number_and_name() {
    let mut s = vec![
        slice("a", Some([0.0, 0.0, 5.0]), Some(1)),
        slice("b", Some([0.0, 0.0, -5.0]), Some(3)),
        slice("c", Some([0.0, 0.0, 0.0]), Some(2)),
    ];
    assert!(order_stack(&mut s).is_empty());
    assert_eq!(names(&s), ["b", "c", "a"]);
}

#[test]
fn without_geometry_instance_numbers_then_names_order() {
    let mut s = vec![
        slice("a", None, Some(3)),
        slice("b", None, Some(1)),
        slice("c", None, Some(1)),
        slice("d", None, Some(7)),
    ];
    let w = order_stack(&mut s);
    assert_eq!(names(&s), ["b", "c", "a", "d"]);
    assert!(w[0].contains("ordered by Instance Number"), "{w:?}");
    assert!(
        w.iter().any(|w| w == "1 duplicate Instance Number(s)"),
        "{w:?}"
    );
    assert!(
        w.iter().any(|w| w == "2 gap(s) in the Instance Numbers"),
        "{w:?}"
    );
    let mut s = vec![slice("b", None, None), slice("a", None, Some(1))];
    let w = order_stack(&mut s);
    assert_eq!(names(&s), ["a", "b"]);
    assert!(w[0].contains("ordered by file name"), "{w:?}");
}

#[test]
fn many_gaps_are_counted_and_a_few_listed() {
    let z = [
        0.0, 1.0, 2.0, 5.0, 6.0, 9.0, 10.0, 13.0, 14.0, 17.0, 18.0, 19.0, 20.0,
    ];
    let mut s: Vec<Slice> = z
        .iter()
        .enumerate()
        .map(|(i, z)| slice(&format!("{i:02}"), Some([0.0, 0.0, *z]), None))
        .collect();
    let w = order_stack(&mut s);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("4 gap(s) in the stack (slices are 1.00 mm apart elsewhere): 3.00 mm between slices 3 and 4"), "{w:?}");
    assert!(w[0].ends_with(", …"), "{w:?}");
}

#[test]
fn orientation_names() {
    assert_eq!(
        orientation_name(normal_of(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0])),
        "axial"
    );
    assert_eq!(
        orientation_name(normal_of(&[1.0, 0.0, 0.0, 0.0, 0.0, -1.0])),
        "coronal"
    );
    assert_eq!(
        orientation_name(normal_of(&[0.0, 1.0, 0.0, 0.0, 0.0, -1.0])),
        "sagittal"
    );
    let t = 30f64.to_radians();
    assert_eq!(
        orientation_name(normal_of(&[1.0, 0.0, 0.0, 0.0, t.cos(), t.sin()])),
        "oblique axial"
    );
    assert_eq!(orientation_name(normal_of(&[0.0; 6])), "unknown");
}
