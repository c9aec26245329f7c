fn main() {
    eprintln!("assay: rubric CLI not implemented yet");
    std::process::exit(2);
}
