// Parse a polecat assignment out of a typed prompt: `Issue: <id>` (or `issue <id>`,
// `--issue <id>`), optionally `Title: <text>`. Returns { issue, title } or undefined.
export function parseAssignment(prompt) {
  const issue = /(?:^|[\s(])(?:--)?issue[:#\s]+([A-Za-z0-9]+-[A-Za-z0-9.]*[A-Za-z0-9])/i.exec(
    prompt,
  )?.[1];
  if (issue === undefined) return undefined;
  const title = /title:[ \t]*([^\n]+?)[ \t]*(?:\b(?:description|done means):|\n|$)/i
    .exec(prompt)?.[1]
    ?.trim();
  return { issue, title: title === '' ? undefined : title };
}
