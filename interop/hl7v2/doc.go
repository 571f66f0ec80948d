// Package hl7v2 reads HL7 version 2 ORU^R01 result messages in the ER7
// ("pipe and hat") encoding, as UK pathology laboratories send them at
// versions 2.4 and 2.5.1.
//
// The parser is strict and written here: no maintained Go library parses
// HL7 v2 (the few Go packages found are unmaintained or split text without
// checking structure). Strict means that a message is either read whole or
// refused with an error naming the line, the segment, the field (OBX-5,
// PID-3.1) and the value: the message structure, the encoding characters,
// escape sequences, value types, dates and the order of segments are
// checked; nothing is guessed. Values are never range-checked: codes and
// units are kept exactly as the laboratory sent them (its own codes, LOINC,
// Read), with the reference range (OBX-7) and abnormal flags (OBX-8) as
// given.
//
// The layers, from the bottom:
//   - Split: ER7 text into segments, fields, repetitions, components and
//     subcomponents, with the escapes (\F\ \S\ \T\ \R\ \E\ \Xhh..\ \.br\)
//     decoded (split.go).
//   - ParseORU: the ORU^R01 structure (MSH, PID, PV1, ORC, OBR, OBX, NTE)
//     into ORU, a plain struct of this package (oru.go).
//
// Where the test messages in testdata may differ from what laboratories
// send is written down in testdata/README.md.
package hl7v2
