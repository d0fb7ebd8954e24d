// Public surface of node-agent/.
export {};
