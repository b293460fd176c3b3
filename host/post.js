// The host form's post step: `rollout post` with the main step's saved state (STATE_*).
'use strict';
require('./launcher.js').run(['post']);
