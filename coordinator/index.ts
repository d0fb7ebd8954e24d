// Public surface of coordinator/.
export {};
