// The mail store of one machine's agents (issue 4, "Mail").
export * from './message.js';
export * from './mailbox.js';
export * from './away.js';
export * from './fields.js';
