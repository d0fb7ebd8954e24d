/** Versions exchanged in the handshake. The coordinator accepts agents one protocol version behind. */
export const GT_VERSION = '0.1.0';
export const PROTOCOL_VERSION = 1;
export const MIN_PROTOCOL_VERSION = PROTOCOL_VERSION - 1;
