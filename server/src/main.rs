fn main() {
    println!("natsd: placeholder");
}
