/** The actions of `gt machine template add|list|remove` (registered in machine-template.ts). */
import { existsSync } from 'node:fs';
import {
  federationPath,
  readFederation,
  updateFederation,
  type GcpTemplate,
} from '../../coordinator/index.js';
import { GtError } from '../../proto/index.js';
import { out, printJson, table } from '../output.js';
import { resolveTownRoot } from '../town-root.js';
import { optionsOf } from './context.js';
import { checkIdentity, checkMachineName } from './machine-add-actions.js';
import { gcpLabels, positive } from './machine-gcp-actions.js';

const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

function usage(message: string, hint: string): GtError {
  return new GtError('GT_USAGE', message, { hint });
}

async function readTemplate(opts: Record<string, unknown>): Promise<GcpTemplate> {
  const [project = '', zone = '', ...rest] = String(opts.gcp).split('/');
  if (rest.length > 0 || !PROJECT.test(project) || !ZONE.test(zone))
    throw usage(
      `malformed --gcp "${String(opts.gcp)}" for a template`,
      'write it as PROJECT/ZONE, e.g. --gcp my-project/europe-west1-b',
    );
  const user = opts.user === undefined ? 'gastown' : String(opts.user);
  if (!USER.test(user) || user === 'root')
    throw usage(
      `invalid --user "${user}"`,
      'give a lowercase account name (not root), e.g. --user gastown',
    );
  const labels = opts.label as string[] | undefined;
  gcpLabels(labels);
  let identity: string | undefined;
  if (opts.identity !== undefined) identity = await checkIdentity(String(opts.identity));
  return {
    type: 'gcp',
    project,
    zone,
    machine_type: String(opts.machineType ?? 'e2-standard-2'),
    image_family: String(opts.imageFamily ?? 'debian-12'),
    image_project: String(opts.imageProject ?? 'debian-cloud'),
    disk_gb: positive(opts.diskGb, '--disk-gb', 10) ?? 20,
    max_polecats: positive(opts.maxPolecats, '--max-polecats') ?? 2,
    user,
    ...(labels === undefined ? {} : { labels }),
    ...(identity === undefined ? {} : { identity_file: identity }),
  };
}

export async function templateAdd(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  checkMachineName(name);
  const template = await readTemplate(opts);
  const townRoot = resolveTownRoot(opts.town);
  await updateFederation(townRoot, (f) => {
    if (f.templates?.[name] !== undefined)
      throw usage(
        `a template named "${name}" exists already`,
        `remove it first (\`gt machine template remove ${name}\`) or pick another name`,
      );
    return { ...f, templates: { ...f.templates, [name]: template } };
  });
  if (opts.json === true) return printJson({ name, template });
  out(
    `added template "${name}" (gcp ${template.project}/${template.zone}, ${template.machine_type}, ${template.max_polecats} polecats each); grow with \`gt swarm start <rig> --ready <n> --grow gcp:${name}\``,
  );
}

export async function templateList(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  const townRoot = resolveTownRoot(opts.town);
  const templates = existsSync(federationPath(townRoot))
    ? ((await readFederation(townRoot)).templates ?? {})
    : {};
  if (opts.json === true) return printJson({ templates });
  const names = Object.keys(templates);
  if (names.length === 0)
    return out('No templates: `gt machine template add NAME --gcp PROJECT/ZONE`.');
  out(
    table(
      ['NAME', 'WHERE', 'MACHINE TYPE', 'IMAGE', 'DISK', 'POLECATS', 'LABELS'],
      Object.entries(templates).map(([n, t]) => [
        n,
        `${t.project}/${t.zone}`,
        t.machine_type,
        `${t.image_project}/${t.image_family}`,
        `${t.disk_gb} GB`,
        String(t.max_polecats),
        t.labels?.join(',') ?? '-',
      ]),
    ),
  );
}

export async function templateRemove(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  checkMachineName(name);
  const townRoot = resolveTownRoot(opts.town);
  await updateFederation(townRoot, (f) => {
    if (f.templates?.[name] === undefined)
      throw new GtError('GT_NOT_FOUND', `no template named "${name}"`, {
        hint: 'see the templates with `gt machine template list`',
      });
    const { [name]: _gone, ...rest } = f.templates;
    return { ...f, templates: rest };
  });
  out(`removed template "${name}"`);
}
