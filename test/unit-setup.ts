// The unit tests' one setting: helpers that synthesize or reach a server refuse under it.
process.env.RAG_UNIT_TESTS = "1";
