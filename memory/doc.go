// Package memory is the knowledge catalog of a batos image: documents split
// into chunks, embedded, stored in the image and searched by meaning through
// chromem-go.
package memory
