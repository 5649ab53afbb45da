// Command awaken is batos's first contact: it opens an image, sends a message
// nobody understands, and shows the method the system writes for itself.
package main

import "fmt"

func main() {
	fmt.Println("batos awaken: the cognitive cycle is not built yet.")
	fmt.Println("Still missing: live methods (Yaegi), memory, personas and the psm cycle.")
	fmt.Println("Run `go test ./...` to exercise what exists: the living image (uvm).")
}
