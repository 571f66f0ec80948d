// Package house holds the house tests: type-checked rules about how the
// packages of the project may use each other (design.md §1), such as the
// one door: nothing but clinical calls the store's write methods.
package house
