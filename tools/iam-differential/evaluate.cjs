#!/usr/bin/env node
// Evaluates generated trust-policy cases with the independent IAM evaluator
// @cloud-copilot/iam-simulate, through its core `authorize()` (the high-level
// `runSimulation()` drops context keys it does not know for the action, such as the
// EKS OIDC keys `<issuer>:sub` and `<issuer>:aud`, so it cannot be used here).
//
// Usage: node evaluate.cjs <cases.json> <results.json>
//   cases.json:   {"cases": [{"id", "policy", "principal", "role", "account", "context"}]}
//   results.json: {"evaluator", "results": [{"id", "result", "statements": [
//                   {"index", "principal", "action", "resource", "conditions": [bool]}]}]}
//
// The case generator and the comparison live in crates/irsa-policy/tests/differential.rs.
'use strict';

const fs = require('fs');
const path = require('path');

function load() {
  let entry;
  try {
    entry = require.resolve('@cloud-copilot/iam-simulate');
  } catch (e) {
    process.stderr.write(
      'the evaluator is not installed: run `npm ci` in tools/iam-differential\n'
    );
    process.exit(3);
  }
  // `authorize`, the request and context classes are not exported by the package
  // entry point; load them from the same build the entry point belongs to.
  const base = path.dirname(entry);
  const pkg = JSON.parse(
    fs.readFileSync(path.join(base, '..', '..', 'package.json'), 'utf8')
  );
  return {
    version: `${pkg.name} ${pkg.version}`,
    authorize: require(path.join(base, 'core_engine', 'CoreSimulatorEngine.js')).authorize,
    AwsRequestImpl: require(path.join(base, 'request', 'request.js')).AwsRequestImpl,
    RequestContextImpl: require(path.join(base, 'requestContext.js')).RequestContextImpl,
    DiscoveryContextKeyConstraints: require(
      path.join(base, 'context_keys', 'discoveryContextKeyConstraints.js')
    ).DiscoveryContextKeyConstraints,
    loadPolicy: require(require.resolve('@cloud-copilot/iam-policy', { paths: [base] }))
      .loadPolicy,
  };
}

function principalResult(m) {
  // 'Match' | 'NoMatch' | 'AccountLevelMatch' | 'SessionRoleMatch' | 'SessionUserMatch'
  return m;
}

function statementOutcome(analysis) {
  const conditions = analysis.explain && analysis.explain.conditions;
  return {
    index: analysis.statement.index() - 1,
    principal: principalResult(analysis.principalMatch),
    action: analysis.actionMatch,
    resource: analysis.resourceMatch,
    conditions: Array.isArray(conditions) ? conditions.map((c) => c.matches === true) : [],
  };
}

function evaluateCase(e, c) {
  const request = new e.AwsRequestImpl(
    c.principal,
    { resource: c.role, accountId: c.account },
    'sts:AssumeRoleWithWebIdentity',
    new e.RequestContextImpl(c.context),
    false
  );
  const analysis = e.authorize({
    request,
    sessionPolicy: undefined,
    identityPolicies: [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: e.loadPolicy(c.policy, { name: 'trust-policy' }),
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: {
      simulationMode: 'Strict',
      discoveryContextKeyConstraints: new e.DiscoveryContextKeyConstraints([]),
    },
  });
  const ra = analysis.resourceAnalysis || {};
  const statements = []
    .concat(ra.allowStatements || [], ra.denyStatements || [], ra.unmatchedStatements || [])
    .map(statementOutcome)
    .sort((a, b) => a.index - b.index);
  return { id: c.id, result: analysis.result, statements };
}

function main() {
  const [casesPath, outPath] = process.argv.slice(2);
  if (!casesPath || !outPath) {
    process.stderr.write('usage: node evaluate.cjs <cases.json> <results.json>\n');
    process.exit(2);
  }
  const e = load();
  const input = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
  const results = input.cases.map((c) => {
    try {
      return evaluateCase(e, c);
    } catch (err) {
      return { id: c.id, error: String((err && err.message) || err) };
    }
  });
  fs.writeFileSync(outPath, JSON.stringify({ evaluator: e.version, results }));
}

main();
