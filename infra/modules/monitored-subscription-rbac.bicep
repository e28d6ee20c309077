// Assigns Warden's custom responder role at one monitored subscription. This is the only
// subscription-scope grant: Warden must find and act on AI accounts anywhere in the subscriptions
// it protects, and the role itself carries only the enumerated Cognitive Services actions.
targetScope = 'subscription'

param roleDefinitionId string
param principalId string

resource responder 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleDefinitionId)
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: inventory, rotate keys and contain deployments of Azure OpenAI / AI Services accounts.'
  }
}
