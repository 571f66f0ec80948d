// Package house holds the house tests: type-checked rules about how the
// packages of the project may use each other (design.md §1), such as the
// one door: nothing but clinical calls the store's write methods, and only
// gpsoc migrate (clinical's Migrate) replaces a whole store.
package house
