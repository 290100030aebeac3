package web

// AlsoAnswers is alsoAnswers, for the tests of the OpenAPI document.
var AlsoAnswers = alsoAnswers
