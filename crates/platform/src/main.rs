fn main() {
    eprintln!("assay-platform: not implemented yet");
    std::process::exit(2);
}
