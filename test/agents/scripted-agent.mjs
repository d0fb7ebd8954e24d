#!/usr/bin/env node
// The scripted test agent is the product's demo agent (a scripted stand-in for an AI agent):
// one implementation, run by the demo (`gt demo`) and by the tests. See cli/demo-agent/.
import '../../cli/demo-agent/scripted-agent.mjs';
