// A standard FHIR client that is not ours (fhir-kit-client) against gpsoc serve:
// create, read, search, update with version checks, history and vread, for
// patients and observations. Usage: node interop.js BASE_URL GP_TOKEN RECEPTION_TOKEN
'use strict';
const Client = require('fhir-kit-client');
const assert = require('node:assert/strict');

const [base, gpToken, recToken] = process.argv.slice(2);
const gp = new Client({ baseUrl: base, bearerToken: gpToken });
const rec = new Client({ baseUrl: base, bearerToken: recToken });
const anon = new Client({ baseUrl: base });

async function status(p) {
  try { await p; return 200; } catch (e) { if (e.response) return e.response.status; throw e; }
}

async function main() {
  const cs = await anon.capabilityStatement();
  assert.equal(cs.resourceType, 'CapabilityStatement');
  assert.equal(cs.fhirVersion, '4.0.1');

  assert.equal(await status(anon.search({ resourceType: 'Patient', searchParams: { name: 'x' } })), 401, 'no token: 401');

  const created = await rec.create({ resourceType: 'Patient', body: {
    resourceType: 'Patient',
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
    name: [{ family: 'Smith', given: ['John'] }], gender: 'male', birthDate: '1961-03-12',
  } });
  assert.ok(created.id, 'created patient has an id');
  assert.equal(created.meta.versionId, '1');

  const read = await rec.read({ resourceType: 'Patient', id: created.id });
  assert.equal(read.name[0].family, 'Smith');

  const byNHS = await rec.search({ resourceType: 'Patient', searchParams: { identifier: 'https://fhir.nhs.uk/Id/nhs-number|9434765919' } });
  assert.equal(byNHS.total, 1);
  assert.equal(byNHS.entry[0].resource.id, created.id);
  const byName = await rec.search({ resourceType: 'Patient', searchParams: { name: 'smi', birthdate: '1961-03-12' } });
  assert.equal(byName.total, 1);

  read.telecom = [{ system: 'phone', value: '0113 496 0000' }];
  const updated = await rec.update({ resourceType: 'Patient', id: created.id, body: read, options: { headers: { 'If-Match': 'W/"1"' } } });
  assert.equal(updated.meta.versionId, '2');
  assert.equal(await status(rec.update({ resourceType: 'Patient', id: created.id, body: read, options: { headers: { 'If-Match': 'W/"1"' } } })), 412, 'stale update: 412');

  const hist = await rec.history({ resourceType: 'Patient', id: created.id });
  assert.equal(hist.type, 'history');
  assert.equal(hist.total, 2);
  const v1 = await rec.vread({ resourceType: 'Patient', id: created.id, version: '1' });
  assert.equal(v1.telecom, undefined);

  const obs = await gp.create({ resourceType: 'Observation', body: {
    resourceType: 'Observation', status: 'final',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '27113001', display: 'Body weight' }] },
    subject: { reference: `Patient/${created.id}` },
    effectiveDateTime: '2026-11-20T10:00:00Z',
    valueQuantity: { value: 82.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  } });
  assert.ok(obs.id);
  const obsRead = await gp.read({ resourceType: 'Observation', id: obs.id });
  assert.equal(obsRead.valueQuantity.value, 82.5);
  assert.equal(await status(rec.read({ resourceType: 'Observation', id: obs.id })), 403, 'receptionist reading an Observation: 403');

  const found = await gp.search({ resourceType: 'Observation', searchParams: { patient: `Patient/${created.id}`, code: 'http://snomed.info/sct|27113001' } });
  assert.equal(found.total, 1);

  obsRead.status = 'entered-in-error';
  obsRead.note = [{ text: 'recorded against the wrong patient' }];
  assert.equal(await status(gp.update({ resourceType: 'Observation', id: obs.id, body: obsRead, options: { headers: { 'If-Match': 'W/"2"' } } })), 412, 'stale observation update: 412');
  const retracted = await gp.update({ resourceType: 'Observation', id: obs.id, body: obsRead, options: { headers: { 'If-Match': 'W/"1"' } } });
  assert.equal(retracted.status, 'entered-in-error');
  const obsHist = await gp.history({ resourceType: 'Observation', id: obs.id });
  assert.equal(obsHist.total, 2);

  console.log('interop ok: patient and observation create, read, search, versioned update (412 on stale), history, vread');
}

main().catch((e) => {
  console.error('interop failed:', e.response ? `${e.response.status} ${JSON.stringify(e.response.data)}` : e);
  process.exit(1);
});
