// Routes out of Defender for Cloud into Warden. Defender has no Event Grid source; its documented
// routes are workflow automation (Logic Apps) and continuous export (Event Hubs / Log Analytics).
//
//  1. Workflow automation (Microsoft.Security/automations, source Alerts, filtered by AlertType
//     prefix) -> Consumption Logic App (Defender alert trigger, managed API "ascalert") -> HTTP POST
//     with the Logic App's managed identity to the Defender custom topic (EventGrid Data Sender on
//     that topic only) -> Event Grid subscription -> Function on_defender_alert_event.
//  2. Optional continuous export of the same alerts to an Event Hub (Function Event Hubs trigger)
//     and/or to the Log Analytics workspace (SecurityAlert table, read by the poller).
//
// Automations apply to the subscription they are deployed in (scopePath); other monitored
// subscriptions need their own (portal, or Azure Policy f1525828-9a90-4fcf-be48-268cdd02361e).
param location string
param tags object
param logicAppName string
param defenderTopicName string
param defenderTopicEndpoint string
param alertTypePrefixes array
param enableWorkflowAutomation bool = true
param enableEventHubExport bool = false
param eventHubNamespaceName string = ''
param eventHubName string = ''
param eventHubSendRuleName string = ''
param exportToWorkspace bool = true
param workspaceResourceId string = ''

var eventGridDataSenderRoleId = 'd5a91429-5739-47e2-a06b-3470a27159e7'
var triggerName = 'When_a_Defender_for_Cloud_alert_is_created'
var eventType = 'Warden.DefenderForCloud.Alert'

// AlertType prefixes, OR-ed (one rule set per prefix).
var alertRuleSets = [for prefix in alertTypePrefixes: {
  rules: [
    {
      propertyJPath: 'AlertType'
      propertyType: 'String'
      expectedValue: prefix
      operator: 'StartsWith'
    }
  ]
}]

resource defenderTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: defenderTopicName
}

resource ascAlertConnection 'Microsoft.Web/connections@2016-06-01' = {
  name: '${logicAppName}-ascalert'
  location: location
  tags: tags
  properties: {
    displayName: 'Microsoft Defender for Cloud alerts (Warden)'
    api: {
      id: subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'ascalert')
    }
  }
}

resource logicApp 'Microsoft.Logic/workflows@2019-05-01' = {
  name: logicAppName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    state: 'Enabled'
    definition: {
      '$schema': 'https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#'
      contentVersion: '1.0.0.0'
      parameters: {
        '$connections': {
          defaultValue: {}
          type: 'Object'
        }
      }
      triggers: {
        // key must equal triggerName (used by listCallbackUrl below)
        When_a_Defender_for_Cloud_alert_is_created: {
          type: 'ApiConnectionWebhook'
          inputs: {
            host: {
              connection: {
                name: '@parameters(\'$connections\')[\'ascalert\'][\'connectionId\']'
              }
            }
            body: {
              callback_url: '@{listCallbackUrl()}'
            }
            path: '/Microsoft.Security/Alert/subscribe'
          }
        }
      }
      actions: {
        Publish_to_Warden_topic: {
          type: 'Http'
          runAfter: {}
          inputs: {
            method: 'POST'
            uri: defenderTopicEndpoint
            headers: {
              'Content-Type': 'application/json; charset=utf-8'
            }
            // Event Grid schema. id = SystemAlertId, so redeliveries keep the same id and Warden's
            // deterministic orchestration ids de-duplicate them.
            body: [
              {
                id: '@{triggerBody()?[\'SystemAlertId\']}'
                eventType: eventType
                subject: '@{coalesce(triggerBody()?[\'AzureResourceId\'], \'defender-for-cloud\')}'
                eventTime: '@{utcNow()}'
                dataVersion: '1.0'
                data: '@triggerBody()'
              }
            ]
            authentication: {
              type: 'ManagedServiceIdentity'
              audience: 'https://eventgrid.azure.net'
            }
            retryPolicy: {
              type: 'exponential'
              count: 5
              interval: 'PT10S'
            }
          }
        }
      }
      outputs: {}
    }
    parameters: {
      '$connections': {
        value: {
          ascalert: {
            connectionId: ascAlertConnection.id
            connectionName: ascAlertConnection.name
            id: subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'ascalert')
          }
        }
      }
    }
  }
}

// The Logic App may publish to the Defender topic and nowhere else.
resource logicAppTopicSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(defenderTopic.id, logicApp.id, eventGridDataSenderRoleId)
  scope: defenderTopic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSenderRoleId)
    principalId: logicApp.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Warden Logic App: forward Defender alerts to this topic only.'
  }
}

// Workflow automation: each matching alert triggers the Logic App.
resource workflowAutomation 'Microsoft.Security/automations@2023-12-01-preview' = if (enableWorkflowAutomation) {
  name: 'warden-ai-alerts-to-logic-app'
  location: location
  tags: tags
  properties: {
    description: 'Warden: forward Defender for AI alerts to the Warden Logic App.'
    isEnabled: true
    scopes: [
      {
        description: 'Deployment subscription'
        scopePath: subscription().id
      }
    ]
    sources: [
      {
        eventSource: 'Alerts'
        ruleSets: alertRuleSets
      }
    ]
    actions: [
      {
        actionType: 'LogicApp'
        logicAppResourceId: logicApp.id
        uri: listCallbackUrl('${logicApp.id}/triggers/${triggerName}', '2019-05-01').value
      }
    ]
  }
  dependsOn: [
    logicAppTopicSender
  ]
}

var eventHubAction = enableEventHubExport ? [
  {
    actionType: 'EventHub'
    eventHubResourceId: resourceId('Microsoft.EventHub/namespaces/eventhubs', eventHubNamespaceName, eventHubName)
    connectionString: listKeys(resourceId('Microsoft.EventHub/namespaces/eventhubs/authorizationRules', eventHubNamespaceName, eventHubName, eventHubSendRuleName), '2024-01-01').primaryConnectionString
  }
] : []

var workspaceAction = exportToWorkspace && !empty(workspaceResourceId) ? [
  {
    actionType: 'Workspace'
    workspaceResourceId: workspaceResourceId
  }
] : []

// Continuous export (streaming) of the same alerts to the Event Hub and/or the workspace.
resource continuousExport 'Microsoft.Security/automations@2023-12-01-preview' = if (enableEventHubExport || (exportToWorkspace && !empty(workspaceResourceId))) {
  name: 'warden-ai-alerts-export'
  location: location
  tags: tags
  properties: {
    description: 'Warden: continuous export of Defender for AI alerts (Event Hub and/or Log Analytics).'
    isEnabled: true
    scopes: [
      {
        description: 'Deployment subscription'
        scopePath: subscription().id
      }
    ]
    sources: [
      {
        eventSource: 'Alerts'
        ruleSets: alertRuleSets
      }
    ]
    actions: concat(eventHubAction, workspaceAction)
  }
}

output logicAppName string = logicApp.name
output logicAppPrincipalId string = logicApp.identity.principalId
