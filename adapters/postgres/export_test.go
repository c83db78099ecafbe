package postgres

// Translate exposes translate to the external tests.
var Translate = translate

// CheckJSONB exposes checkJSONB to the external tests.
var CheckJSONB = checkJSONB
